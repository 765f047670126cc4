//! `enrich`: the reference transform of DESIGN §1.5 and the README's demo.
//! An order (JSON) gains its `region` and an exact `total_cents`; anything
//! that is not a well-formed order is rejected with a reason. The Go, Python,
//! JavaScript and C ports must match this byte for byte
//! (`tests/conformance/enrich/`).

use eoshost_plugin_sdk::{Config, Header, InputRecord, OutputRecord, Rejection, Transform, export_transform};

mod scan;

/// Upper bound of `quantity` and `unit_price_cents`.
const MAX_AMOUNT: u64 = 1_000_000_000;

pub struct Enrich;

/// A validated order: the fields the output is made of.
#[derive(Debug, PartialEq, Eq)]
pub struct Order {
    pub order_id: String,
    pub customer_id: String,
    pub country: String,
    pub quantity: u64,
    pub unit_price_cents: u64,
}

/// The sales region of an ISO country code (exact, case-sensitive).
pub fn region(country: &str) -> &'static str {
    match country {
        "DE" | "FR" | "NL" | "ES" | "IT" | "PL" | "SE" => "EU",
        "US" | "CA" | "MX" => "NA",
        "JP" | "CN" | "IN" | "SG" | "AU" | "KR" => "APAC",
        _ => "OTHER",
    }
}

/// The order's fields as they appear in the value (the last of duplicates):
/// raw JSON text of each value, decoded only as far as the rule needs.
struct OrderFields<'a>([Option<&'a str>; 5]);

const FIELDS: [&str; 5] = ["order_id", "customer_id", "country", "quantity", "unit_price_cents"];

impl<'a> OrderFields<'a> {
    fn from_members(members: Vec<(&'a str, &'a str)>) -> Self {
        let mut fields = OrderFields([None; 5]);
        for (key_literal, value) in members {
            // Keys may be escaped ("\u006frder_id"); the scanner validated them.
            let key: String = serde_json::from_str(key_literal).unwrap_or_default();
            if let Some(index) = FIELDS.iter().position(|field| *field == key) {
                fields.0[index] = Some(value);
            }
        }
        fields
    }

    fn get(&self, name: &str) -> Option<&'a str> {
        FIELDS.iter().position(|field| *field == name).and_then(|index| self.0[index])
    }
}

fn text_field(object: &OrderFields, name: &str) -> Result<String, Rejection> {
    match object.get(name) {
        None => Err(Rejection::new(format!("missing field \"{name}\""))),
        Some(literal) if literal.starts_with('"') => {
            Ok(serde_json::from_str(literal).expect("the scanner validated this string"))
        }
        Some(_) => Err(Rejection::new(format!("field \"{name}\" must be a string"))),
    }
}

/// An integer is a JSON number token without fraction or exponent
/// (`-?(0|[1-9][0-9]*)`); the token is read as written, so `3.0`, `3e2` and
/// 30-digit integers are told apart exactly rather than through a double.
fn amount_field(object: &OrderFields, name: &str) -> Result<u64, Rejection> {
    let token = match object.get(name) {
        None => return Err(Rejection::new(format!("missing field \"{name}\""))),
        Some(token) => token,
    };
    let (negative, digits) = match token.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, token),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Rejection::new(format!("field \"{name}\" must be an integer")));
    }
    let out_of_range = || Rejection::new(format!("field \"{name}\" must be between 0 and {MAX_AMOUNT}"));
    let magnitude: u64 =
        if digits.len() > 10 { return Err(out_of_range()) } else { digits.parse().map_err(|_| out_of_range())? };
    match (negative, magnitude) {
        (true, 0) => Ok(0),
        (true, _) => Err(out_of_range()),
        (false, m) if m > MAX_AMOUNT => Err(out_of_range()),
        (false, m) => Ok(m),
    }
}

/// Validates an order value; the first failing rule gives the reason.
pub fn parse_order(value: Option<&[u8]>) -> Result<Order, Rejection> {
    let bytes = value.ok_or_else(|| Rejection::new("value is missing"))?;
    let object = match scan::scan(bytes) {
        None => return Err(Rejection::new("value is not valid JSON")),
        Some(scan::TopLevel::NotObject) => return Err(Rejection::new("value is not a JSON object")),
        Some(scan::TopLevel::Object(members)) => OrderFields::from_members(members),
    };
    Ok(Order {
        order_id: text_field(&object, "order_id")?,
        customer_id: text_field(&object, "customer_id")?,
        country: text_field(&object, "country")?,
        quantity: amount_field(&object, "quantity")?,
        unit_price_cents: amount_field(&object, "unit_price_cents")?,
    })
}

/// Writes `text` as a JSON string: raw UTF-8, escaping only `"`, `\` and
/// U+0000–U+001F (short forms where JSON has them, else `\u00xx`).
fn write_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{08}' => out.push_str("\\b"),
            '\u{0C}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// The enriched value: compact JSON with the keys in the pinned order.
pub fn enriched_json(order: &Order) -> String {
    let mut out = String::with_capacity(160);
    for (key, text) in [
        ("order_id", order.order_id.as_str()),
        ("customer_id", &order.customer_id),
        ("country", &order.country),
        ("region", region(&order.country)),
    ] {
        out.push(if out.is_empty() { '{' } else { ',' });
        write_json_string(&mut out, key);
        out.push(':');
        write_json_string(&mut out, text);
    }
    // Both factors are at most 10^9, so the product fits in u64 exactly.
    let total = order.quantity * order.unit_price_cents;
    out.push_str(&format!(
        ",\"quantity\":{},\"unit_price_cents\":{},\"total_cents\":{total}}}",
        order.quantity, order.unit_price_cents
    ));
    out
}

impl Transform for Enrich {
    fn init(config: Config) -> Result<Self, String> {
        config.expect_only(&[])?;
        Ok(Enrich)
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        let order = parse_order(record.value.as_deref())?;
        let mut headers: Vec<Header> = record.headers.into_iter().filter(|h| h.key != "region").collect();
        headers.push(Header::new("region", region(&order.country)));
        Ok(vec![OutputRecord { topic: None, key: record.key, value: Some(enriched_json(&order).into_bytes()), headers }])
    }
}

export_transform!(Enrich);

#[cfg(test)]
mod tests;

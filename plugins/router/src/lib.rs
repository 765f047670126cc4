//! `router`: one order becomes three records in one transaction — the order
//! itself to the default output, a stock reservation to the inventory topic
//! and a customer notice to the notifications topic — so exactly-once tests
//! can check that a fan-out commits all-or-nothing.

use eoshost_plugin_sdk::{Config, InputRecord, OutputRecord, Rejection, Transform, export_transform};

pub struct Router {
    inventory_topic: String,
    notifications_topic: String,
}

impl Transform for Router {
    fn init(config: Config) -> Result<Self, String> {
        config.expect_only(&["inventory_topic", "notifications_topic"])?;
        Ok(Router {
            inventory_topic: config.get("inventory_topic").unwrap_or("inventory").to_owned(),
            notifications_topic: config.get("notifications_topic").unwrap_or("notifications").to_owned(),
        })
    }

    fn transform(&mut self, record: InputRecord) -> Result<Vec<OutputRecord>, Rejection> {
        let Some(value) = record.value.clone() else {
            return Err(Rejection::new("value is missing"));
        };
        let key = record.key.clone();
        Ok(vec![
            OutputRecord::from_input(record).header("route", "order"),
            OutputRecord::new(key.clone(), value.clone()).to_topic(self.inventory_topic.clone()).header("route", "inventory"),
            OutputRecord::new(key, value).to_topic(self.notifications_topic.clone()).header("route", "notification"),
        ])
    }
}

export_transform!(Router);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_order_fans_out_to_three_topics() {
        let mut router = Router::init(Config::from_pairs([("inventory_topic", "stock")])).unwrap();
        let out = router.transform(InputRecord::with_value("o1").key("k")).unwrap();
        let topics: Vec<_> = out.iter().map(|r| r.topic.clone()).collect();
        assert_eq!(topics, [None, Some("stock".into()), Some("notifications".into())]);
        assert!(out.iter().all(|r| r.key.as_deref() == Some(&b"k"[..])));
        assert!(out.iter().all(|r| r.value.as_deref() == Some(&b"o1"[..])));
    }

    #[test]
    fn tombstone_is_rejected() {
        let mut router = Router::init(Config::default()).unwrap();
        let mut tombstone = InputRecord::with_value("");
        tombstone.value = None;
        assert_eq!(router.transform(tombstone).unwrap_err().reason, "value is missing");
    }
}

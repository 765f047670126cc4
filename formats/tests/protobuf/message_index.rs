//! The Confluent message-index list at the start of every payload.

use crate::common::*;

#[test]
fn the_single_zero_byte_names_the_first_top_level_message() {
    assert_eq!(decoded(&shop(), &[0x00]), EMPTY_ORDER);
}

#[test]
fn an_explicit_list_of_one_zero_names_the_first_top_level_message() {
    // count 1 (zigzag 0x02), index 0
    assert_eq!(decoded(&shop(), &[0x02, 0x00]), EMPTY_ORDER);
}

#[test]
fn a_second_top_level_message_is_named_by_index_one() {
    assert_eq!(decoded(&shop(), &[0x02, 0x02]), r#"{"name":""}"#);
}

#[test]
fn a_nested_message_is_named_by_its_path() {
    // [1, 0]: Customer.Address
    assert_eq!(decoded(&shop(), &[0x04, 0x02, 0x00]), r#"{"city":""}"#);
    // [0, 0]: Order.Line
    assert_eq!(decoded(&shop(), &[0x04, 0x00, 0x00]), r#"{"sku":"","count":0}"#);
}

#[test]
fn map_entry_types_do_not_count_among_nested_messages() {
    // protoc puts Order.stock's entry type before Order.Line; Confluent's
    // serializer counts only the messages the text declares.
    assert_eq!(decoded(&shop(), &[0x04, 0x00, 0x00]), r#"{"sku":"","count":0}"#);
    assert!(shop().decode(&[0x04, 0x00, 0x02], &mut Vec::new()).is_err());
}

#[test]
fn an_index_past_the_messages_is_a_fit_error() {
    let error = shop().decode(&[0x02, 0x0a], &mut Vec::new()).unwrap_err();
    assert_eq!(error.path, "$");
    assert!(error.message.contains("[5]"), "{error}");
    let error = shop().decode(&[0x06, 0x02, 0x00, 0x00], &mut Vec::new()).unwrap_err();
    assert!(error.message.contains("[1, 0, 0]"), "{error}");
}

#[test]
fn a_negative_count_or_index_is_a_fit_error() {
    assert!(shop().decode(&[0x01], &mut Vec::new()).unwrap_err().message.contains("negative"));
    let error = shop().decode(&[0x02, 0x01], &mut Vec::new()).unwrap_err();
    assert!(error.message.contains("[-1]"), "{error}");
}

#[test]
fn an_empty_or_cut_index_list_is_a_fit_error() {
    assert!(shop().decode(&[], &mut Vec::new()).unwrap_err().message.contains("truncated"));
    assert!(shop().decode(&[0x04, 0x02], &mut Vec::new()).unwrap_err().message.contains("truncated"));
}

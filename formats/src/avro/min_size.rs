//! The fewest bytes a value of each type takes in a datum, so that the
//! decoder can refuse an array or map block that claims more elements than
//! the remaining bytes could hold, before it loops over them.

use super::node::{Node, NodeId};

/// Rounds of the fixed-point iteration. Each round only raises the sizes
/// from 0 towards the true minimum, so stopping early stays a safe lower
/// bound (it matters only for records that contain themselves with no
/// union to stop them, which have no finite value anyway).
const ROUNDS: usize = 32;

/// Sets `min_size` of every array's and map's elements.
pub(crate) fn fill(nodes: &mut [Node]) {
    let mut sizes = vec![0usize; nodes.len()];
    for _ in 0..ROUNDS {
        let mut changed = false;
        for at in 0..nodes.len() {
            let size = size_of(&nodes[at], &sizes);
            if size != sizes[at] {
                sizes[at] = size;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for node in nodes.iter_mut() {
        match node {
            Node::Array(items) => items.min_size = sizes[items.node.0],
            // An entry is a key (at least its length byte) and a value.
            Node::Map(items) => items.min_size = 1 + sizes[items.node.0],
            _ => {}
        }
    }
}

fn size_of(node: &Node, sizes: &[usize]) -> usize {
    let of = |id: &NodeId| sizes[id.0];
    match node {
        Node::Null => 0,
        Node::Boolean | Node::Int(_) | Node::Long(_) | Node::Bytes(_) | Node::String(_) | Node::Enum(_) => 1,
        Node::Float => 4,
        Node::Double => 8,
        Node::Fixed(fixed) => fixed.size,
        Node::Array(_) | Node::Map(_) => 1,
        Node::Record(record) => record.fields.iter().map(|f| of(&f.node)).fold(0, usize::saturating_add),
        Node::Union(union) => union.branches.iter().map(of).min().unwrap_or(0).saturating_add(1),
    }
}

#[cfg(test)]
mod tests {
    use crate::avro::node::Node;
    use crate::avro::parse::parse;

    fn element_min_size(text: &str) -> usize {
        let tree = parse(text, &[]).unwrap();
        match tree.node(tree.root) {
            Node::Array(items) | Node::Map(items) => items.min_size,
            _ => panic!("not an array or map"),
        }
    }

    #[test]
    fn element_sizes_add_up_through_records_and_take_a_unions_smallest_branch() {
        let record = r#"{"type":"array","items":{"type":"record","name":"R","fields":[
            {"name":"a","type":"double"},{"name":"b","type":["null","string"]},
            {"name":"c","type":{"type":"fixed","name":"F","size":3}}]}}"#;
        assert_eq!(element_min_size(record), 8 + 1 + 3);
        assert_eq!(element_min_size(r#"{"type":"array","items":"null"}"#), 0);
        assert_eq!(element_min_size(r#"{"type":"map","values":"null"}"#), 1);
    }

    #[test]
    fn recursive_records_get_a_finite_size() {
        let list = r#"{"type":"array","items":{"type":"record","name":"L","fields":[
            {"name":"v","type":"long"},{"name":"next","type":["null","L"]}]}}"#;
        assert_eq!(element_min_size(list), 2);
    }
}

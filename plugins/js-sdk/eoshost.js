// eoshost.js: what every JavaScript plugin gets beside its own code (copied
// next to the plugin's module by its build.sh; import it as './eoshost.js').
//
// Records in batches: a plugin built for the `batch-transformer` world
// writes only the per-record `transform` and adds two lines to its module:
//
//     import { batchOf } from './eoshost.js';
//     export const batch = batchOf(transform);   // the `batch` export
//
// eoshost then hands it several records per call (`transform-batch`), and
// the export answers each with what `transform` says of it: entering the
// engine once per batch instead of once per record. The contract is that
// of `transform-batch` in wit/transform.wit: one result per record, in
// order; a rejection (`throw { tag: 'rejected', val: reason }`, what
// `transform` throws for `error::rejected`) stays that record's; any other
// exception propagates and traps the call, and eoshost then sends the
// batch's records through `transform` one by one.
//
// Both engines (componentize-qjs and componentize-js) write a `result`
// nested in a list as `{ tag: 'ok', val }` / `{ tag: 'err', val }`, while a
// function's own `result` is a return or a throw; this file converts the
// one into the other.

// What `transform` throws to reject a record: the `error` variant's only
// case. Anything else it throws traps, so the batch must trap too.
function isRejection(e) {
  return typeof e === 'object' && e !== null && e.tag === 'rejected' && typeof e.val === 'string';
}

// The `batch` export object for a per-record `transform(record)`.
export function batchOf(transform) {
  return {
    transformBatch(inputs) {
      const results = new Array(inputs.length);
      for (let i = 0; i < inputs.length; i++) {
        try {
          results[i] = { tag: 'ok', val: transform(inputs[i]) };
        } catch (e) {
          if (!isRejection(e)) throw e;
          results[i] = { tag: 'err', val: e };
        }
      }
      return results;
    },
  };
}

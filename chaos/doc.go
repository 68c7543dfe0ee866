// Package chaos is the fault-injection suite (RELIABILITY.md, F1–F7). It has
// no code of its own, only tests: each builds the real im2pay binary, runs it
// as a child process against a private PostgreSQL cluster (not the shared
// test cluster, since the tests stop and pause it), drives it over HTTP with
// keyed operations while a fault is injected, then heals the fault, resolves
// every unknown with its original key and checks the ledger directly against
// the clients' log and a model of every wallet.
//
// `go test ./chaos` runs the short form (part of `make test`); `make chaos`
// runs the full form with `-args -chaos.full` (or CHAOS=full).
package chaos

// Package rx is the EPS prescription lifecycle as pure functions
// (../shared/spec/lifecycle.md): given the stored record (or nil), one
// decoded inbound message and the time, it returns the record to store, the
// answer to give and the further messages to send. It reads no clock, does no
// I/O and knows nothing of HL7 V3 or the store; internal/spine loads the
// record, calls rx, and stores the result and the outbox in one transaction.
//
// Entry points: Create (parent prescription), Apply (every other inbound
// message), ReleaseNominated (a nominated release over the candidate
// records), Sweep (the time-based next activities). A message refused by a
// business rule is an Outcome answered AE with the Spine's code; only input
// that cannot be processed at all is a Go error (*epserr.Error).
//
// Every rule names the Spine function it follows (ESS = NHSDigital/
// eps-spine-shared); where the Spine is silent or wrong the comment names the
// decision (lifecycle.md §7 numbers, or the letter-number decisions of
// docs/decisions.md).
package rx

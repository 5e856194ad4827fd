// Package e2e holds the cross-process end-to-end tests of openeps: the real
// eps binary, built once, run as `eps serve` and `eps mhs` processes that
// talk HTTPS with mutual TLS on loopback, driven as a prescribing or
// dispensing system drives them (the MHS adaptor's REST API) and as NHS
// England's EPS FHIR API drives the Spine (its captured requests). Faults
// are real too: processes stopped and restarted, killed with SIGKILL
// mid-send, receivers that acknowledge late, duplicates sent on purpose —
// and every test counts what each store holds at the end.
//
// The package has no code of its own; its tests are the point.
package e2e

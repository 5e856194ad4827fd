// Package hl7v3 reads and writes the HL7 V3 messages of the EPS: one typed Go
// value per interaction (generated from the MIM 4.2.00 schemas into
// mim_gen.go), the acknowledgements, and the Spine's error codes for what is
// wrong with a message.
//
// Decoding is strict where it matters (well-formed XML, no DTDs, bounded
// depth, required elements present, no element repeated that may appear only
// once) and faithful everywhere else: children are matched by name in any
// order, and anything a schema does not allow is kept in the value's Extra so
// that Encode gives it back. Encode writes elements in schema order.
package hl7v3

//go:generate go run ./internal/mimgen -mim ../../../shared/fixtures/hl7v3/mim -o mim_gen.go

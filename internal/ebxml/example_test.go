package ebxml_test

import (
	"fmt"
	"time"

	"github.com/openeps/openeps/internal/ebxml"
)

// A sender builds a reliable request; the Spine side parses it, checks it
// and acknowledges it (or answers an error list); the sender reads the
// answer.
func Example() {
	now := time.Date(2026, 11, 25, 0, 49, 12, 0, time.UTC)
	request := &ebxml.Message{
		Header: ebxml.MessageHeader{
			From: ebxml.Party{ID: "T141D-822234"}, To: ebxml.Party{ID: "YES-0000806"},
			CPAId: "S1001A1630", ConversationId: "6E26932C-37FE-47FB-A030-1A7E1A995662",
			Service: ebxml.ServiceMM, Action: "PORX_IN020101SM31",
			MessageId: "6E26932C-37FE-47FB-A030-1A7E1A995662", SentAt: now,
			DuplicateElimination: true, AckRequested: true, SyncReply: true,
		},
		Payload: []byte(`<PORX_IN020101SM31 xmlns="urn:hl7-org:v3"/>`),
	}
	contentType, body, err := ebxml.Build(request)
	if err != nil {
		fmt.Println(err)
		return
	}

	// The receiver.
	m, err := ebxml.Parse(contentType, body, ebxml.Limits{})
	var errs []*ebxml.Error
	if err != nil {
		errs = append(errs, ebxml.AsError(err))
	} else {
		opts := ebxml.SpineEPS
		opts.Party = "YES-0000806"
		opts.SOAPAction = request.Header.SOAPAction()
		opts.KnownCPA = func(h ebxml.MessageHeader) bool { return h.CPAId == "S1001A1630" }
		errs = m.Check(opts)
	}
	var answer []byte
	if len(errs) > 0 {
		var received *ebxml.MessageHeader
		if m != nil {
			received = &m.Header
		}
		_, answer = ebxml.ErrorList(received, "D2E1A3B4-0000-4000-8000-000000000001", now, errs...)
	} else {
		_, answer = ebxml.Ack(m.Header, "D2E1A3B4-0000-4000-8000-000000000002", now, "YES-0000806")
	}

	// The sender.
	reply, _ := ebxml.Parse("text/xml", answer, ebxml.Limits{})
	fmt.Println(reply.Kind, reply.Acknowledges(request.Header.MessageId))
	// Output: acknowledgment true
}

package ebxml

import (
	"bytes"
	"reflect"
	"sort"
	"testing"
	"time"
)

func rules(errs []*Error) []Rule {
	out := []Rule{}
	for _, e := range errs {
		out = append(out, e.Rule)
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

func sortedRules(rs ...Rule) []Rule {
	out := append([]Rule{}, rs...)
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// The Spine's reliable-messaging checks find exactly the defect each of the
// adaptor's defective test messages was made to show.
func TestCheckAdaptorFixtures(t *testing.T) {
	reliable := CheckOptions{Contract: ContractReliable}
	tests := []struct {
		file string
		o    CheckOptions
		want []Rule
	}{
		{"ebxml_request.msg", reliable, nil},
		{"ebxml_request.msg", CheckOptions{Contract: ContractReliable, MaxReferences: 1, Service: "urn:nhs:names:services:psis"}, nil},
		{"ebxml_request_no_ack_requested.msg", reliable, []Rule{RuleAckRequested}},
		{"ebxml_request_no_duplicate_elimination.msg", reliable, []Rule{RuleDuplicateElimination}},
		{"ebxml_request_no_sync_reply.msg", reliable, []Rule{RuleSyncReply}},
		{"ebxml_request_no_soap_actor.msg", reliable, []Rule{RuleAckRequestedActor}},
		{"ebxml_request_no_sync_reply.msg", CheckOptions{Contract: ContractForwardReliable}, nil},
		{"ebxml_request.msg", CheckOptions{Contract: ContractForwardReliable}, []Rule{RuleSyncReply}},
		{"ebxml_request.msg", CheckOptions{Contract: ContractExpress}, []Rule{RuleAckRequested, RuleDuplicateElimination}},
		{"ebxml_request_multiple_attachments.msg", CheckOptions{MaxReferences: 1}, []Rule{RuleManifestReference}},
		{"ebxml_request_multibyte_character.msg", reliable, []Rule{RuleAckRequestedActor, RuleSyncReply, RuleActionPayload}},
		{"ebxml_request.msg", CheckOptions{Service: ServiceMM}, []Rule{RuleService}},
		{"ebxml_request.msg", CheckOptions{Party: "YES-0000806"}, []Rule{RuleToParty}},
		{"ebxml_request.msg", CheckOptions{KnownAction: func(s, a string) bool { return false }}, []Rule{RuleAction}},
		{"ebxml_request.msg", CheckOptions{SOAPAction: `"urn:nhs:names:services:psis/MCCI_IN010000UK13"`}, nil},
		{"ebxml_request.msg", CheckOptions{SOAPAction: "urn:nhs:names:services:mm/MCCI_IN010000UK13"}, []Rule{RuleSOAPActionHeader}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			m, _ := Parse(multipartCT, fixture(t, mhsTestMessages+"/"+tc.file), Limits{})
			if m == nil {
				t.Fatal("not parsed")
			}
			if got, want := rules(m.Check(tc.o)), sortedRules(tc.want...); !reflect.DeepEqual(got, want) {
				t.Errorf("rules %v, want %v: %v", got, want, m.Check(tc.o))
			}
		})
	}
}

func TestCheckEPSRequest(t *testing.T) {
	f, _ := capture(t, "parent-prescription-PORX_IN020101SM31.http")
	opts := SpineEPS
	opts.Party = "YES-0000806"
	opts.SOAPAction = f.Header.Get("SOAPAction")
	opts.KnownCPA = func(h MessageHeader) bool {
		return h.CPAId == "S1001A1630" && h.From.ID == "T141D-822234" && h.Action == "PORX_IN020101SM31"
	}
	opts.Now = time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC)
	parse := func(change func([]byte) []byte) *Message {
		t.Helper()
		m, err := Parse(f.Header.Get("Content-Type"), change(bytes.Clone(f.Body)), Limits{})
		if m == nil {
			t.Fatalf("Parse: %v", err)
		}
		return m
	}
	same := func(b []byte) []byte { return b }
	replace := func(old, new string) func([]byte) []byte {
		return func(b []byte) []byte {
			if !bytes.Contains(b, []byte(old)) {
				t.Fatalf("%q not in the capture", old)
			}
			return bytes.Replace(b, []byte(old), []byte(new), 1)
		}
	}
	tests := []struct {
		name   string
		change func([]byte) []byte
		o      func(CheckOptions) CheckOptions
		want   []Rule
		code   string // the Spine code of the first error, if any
	}{
		{"as sent", same, nil, nil, ""},
		{"UK spelling of the action", replace("<eb:Action>PORX_IN020101SM31", "<eb:Action>PORX_IN020101UK31"),
			func(o CheckOptions) CheckOptions { o.KnownCPA, o.SOAPAction = nil, ""; return o }, nil, ""},
		{"action not the payload's", replace("<eb:Action>PORX_IN020101SM31", "<eb:Action>PORX_IN080101SM31"),
			func(o CheckOptions) CheckOptions { o.KnownCPA = nil; return o }, []Rule{RuleActionPayload, RuleSOAPActionHeader}, ""},
		{"unknown CPA", same, func(o CheckOptions) CheckOptions {
			o.KnownCPA = func(MessageHeader) bool { return false }
			return o
		}, []Rule{RuleUnknownCPA}, SpineUnknownCPAId},
		{"not for us", same, func(o CheckOptions) CheckOptions { o.Party = "X26-0000001"; return o }, []Rule{RuleToParty}, ""},
		{"To party type", replace(`<eb:PartyId eb:type="urn:nhs:names:partyType:ocs+serviceInstance">YES-0000806`, `<eb:PartyId eb:type="x">YES-0000806`),
			nil, []Rule{RuleToPartyType}, SpineInvalidToPartyType},
		{"From party type", replace(`<eb:PartyId eb:type="urn:nhs:names:partyType:ocs+serviceInstance">T141D`, `<eb:PartyId>T141D`),
			nil, []Rule{RuleFromPartyType}, ""},
		{"two From party IDs", replace(`T141D-822234</eb:PartyId>`, `T141D-822234</eb:PartyId><eb:PartyId>X</eb:PartyId>`),
			nil, []Rule{RuleNotWellFormed}, TMSNotWellFormed},
		{"two CPA IDs", replace(`<eb:CPAId>S1001A1630</eb:CPAId>`, `<eb:CPAId>S1001A1630</eb:CPAId><eb:CPAId>S1001A1630</eb:CPAId>`),
			nil, []Rule{RuleNotWellFormed}, TMSNotWellFormed},
		{"no conversation", replace(`<eb:ConversationId>6E26932C-37FE-47FB-A030-1A7E1A995662</eb:ConversationId>`, ``),
			nil, []Rule{RuleNotWellFormed}, TMSNotWellFormed},
		{"header version", replace(`SOAP:mustUnderstand="1" eb:version="2.0">`, `SOAP:mustUnderstand="1" eb:version="1.0">`),
			nil, []Rule{RuleHeaderVersion}, ""},
		{"signed ack", replace(`eb:signed="false"`, `eb:signed="true"`), nil, []Rule{RuleAckRequestedSigned}, ""},
		{"ack without signed", replace(`eb:signed="false" `, ``), nil, []Rule{RuleAckRequestedSigned}, ""},
		{"ack version", replace(`eb:version="2.0" eb:signed`, `eb:version="3.0" eb:signed`), nil, []Rule{RuleAckRequestedVersion}, ""},
		{"sync reply actor", replace(`SOAP:actor="http://schemas.xmlsoap.org/soap/actor/next"`, `SOAP:actor="x"`), nil, []Rule{RuleSyncReplyActor}, ""},
		{"sync reply version", replace(`<eb:SyncReply SOAP:mustUnderstand="1" eb:version="2.0"`, `<eb:SyncReply SOAP:mustUnderstand="1"`), nil, []Rule{RuleSyncReplyVersion}, ""},
		{"two sync replies", replace(`</SOAP:Header>`, `<eb:SyncReply eb:version="2.0" SOAP:actor="http://schemas.xmlsoap.org/soap/actor/next"/></SOAP:Header>`),
			nil, []Rule{RuleSyncReply}, ""},
		{"manifest version", replace(`<eb:Manifest SOAP:mustUnderstand="1" eb:version="2.0">`, `<eb:Manifest eb:version="1.0">`), nil, []Rule{RuleManifestReference}, ""},
		{"expired", replace(`</eb:Timestamp>`, `</eb:Timestamp><eb:TimeToLive>2026-11-25T00:50:00Z</eb:TimeToLive>`), nil, []Rule{RuleTimeToLive}, ""},
		{"in time", replace(`</eb:Timestamp>`, `</eb:Timestamp><eb:TimeToLive>2026-11-25T02:00:00Z</eb:TimeToLive>`), nil, nil, ""},
		{"kept unknown header", replace(`</SOAP:Header>`, `<x:Trace xmlns:x="urn:x">hop</x:Trace></SOAP:Header>`), nil, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := parse(tc.change)
			o := opts
			if tc.o != nil {
				o = tc.o(o)
			}
			errs := m.Check(o)
			if got, want := rules(errs), sortedRules(tc.want...); !reflect.DeepEqual(got, want) {
				t.Fatalf("rules %v, want %v: %v", got, want, errs)
			}
			if len(errs) > 0 && errs[0].SpineCode != tc.code {
				t.Errorf("Spine code %q, want %q", errs[0].SpineCode, tc.code)
			}
			for _, e := range errs {
				if e.Code == "" || e.Text == "" {
					t.Errorf("incomplete error %+v", e)
				}
			}
		})
	}
	m := parse(replace(`</SOAP:Header>`, `<x:Trace xmlns:x="urn:x">hop</x:Trace></SOAP:Header>`))
	if len(m.Header.Extra) != 1 || m.Header.Extra[0].XML != `<x:Trace xmlns:x="urn:x">hop</x:Trace>` || m.Header.Extra[0].Parent != "Header" {
		t.Errorf("unknown header element not kept: %+v", m.Header.Extra)
	}
}

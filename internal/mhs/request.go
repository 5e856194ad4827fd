package mhs

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/openeps/openeps/internal/ebxml"
)

// The MHS adaptor API's limits (mhs/outbound/mhsapi.json).
const (
	MaxPayloadChars     = 5_000_000 // payload and each attachment payload, in characters
	MaxAttachments      = 98        // attachments, and external attachments, per request
	MaxDescriptionChars = 100
	// MaxRequestBody caps the JSON body: a payload and 98 attachments at
	// their limit would be half a gigabyte, so the body is capped the way
	// the Spine caps a message (16 MiB); bigger requests get 413.
	MaxRequestBody = 16 << 20
)

// The request headers of the adaptor API.
const (
	HeaderInteractionID   = "Interaction-Id"
	HeaderMessageID       = "Message-Id"
	HeaderCorrelationID   = "Correlation-Id"
	HeaderWaitForResponse = "wait-for-response"
	HeaderFromASID        = "from-asid"
	HeaderODSCode         = "ods-code"
)

// Request is one client request to the adaptor, checked.
type Request struct {
	Interaction     Interaction
	InteractionID   string // as the client sent it (its SM or UK spelling goes into eb:Action)
	WaitForResponse bool
	MessageID       string // the client's Message-Id, or a new UUID
	CorrelationID   string // the client's Correlation-Id, or a new UUID
	FromASID        string
	ODSCode         string
	Payload         []byte
	// Attachments holds the attachments and then the external attachments.
	Attachments []ebxml.Attachment
}

// RequestError is a request the adaptor refuses, with the HTTP status the
// MHS adaptor gives it.
type RequestError struct {
	Status int
	Msg    string
}

func (e *RequestError) Error() string { return e.Msg }

func reqErr(status int, format string, args ...any) *RequestError {
	return &RequestError{Status: status, Msg: fmt.Sprintf(format, args...)}
}

// requestBody is the adaptor API's JSON body.
type requestBody struct {
	Payload             *string              `json:"payload"`
	Attachments         []attachmentBody     `json:"attachments"`
	ExternalAttachments []externalAttachment `json:"external_attachments"`
}

type attachmentBody struct {
	ContentType *string `json:"content_type"`
	IsBase64    *bool   `json:"is_base64"`
	Description *string `json:"description"`
	Payload     *string `json:"payload"`
}

type externalAttachment struct {
	DocumentID  *string `json:"document_id"`
	MessageID   *string `json:"message_id"`
	Description *string `json:"description"`
}

// contentTypes are the attachment content types the API allows.
var contentTypes = map[string]bool{
	"text/plain": true, "text/html": true, "application/pdf": true, "text/xml": true, "application/xml": true,
	"text/rtf": true, "audio/basic": true, "audio/mpeg": true, "image/png": true, "image/gif": true,
	"image/jpeg": true, "image/tiff": true, "video/mpeg": true, "application/msword": true,
	"application/octet-stream": true,
}

// ParseRequest reads a client request as the MHS adaptor does, in its
// order and with its status codes: a missing Interaction-Id is 404; a
// missing or unreadable wait-for-response 400; a body that is not JSON 415
// (wrong Content-Type) or 400; a body that breaks the schema 400 with every
// violation listed; an unknown interaction 404; wait-for-response true for
// an interaction without sync-async 400. newID makes the Message-Id and
// Correlation-Id the client did not send.
func ParseRequest(h http.Header, body []byte, newID func() string) (*Request, error) {
	r := &Request{MessageID: strings.TrimSpace(h.Get(HeaderMessageID)), CorrelationID: strings.TrimSpace(h.Get(HeaderCorrelationID)),
		FromASID: strings.TrimSpace(h.Get(HeaderFromASID)), ODSCode: strings.TrimSpace(h.Get(HeaderODSCode))}
	if r.MessageID == "" {
		r.MessageID = newID()
	}
	if r.CorrelationID == "" {
		r.CorrelationID = newID()
	}
	for name, v := range map[string]string{HeaderMessageID: r.MessageID, HeaderCorrelationID: r.CorrelationID,
		HeaderFromASID: r.FromASID, HeaderODSCode: r.ODSCode} {
		if len(v) > 200 || !printable(v) {
			return nil, reqErr(http.StatusBadRequest, "%s header is not a usable value", name)
		}
	}
	r.InteractionID = strings.TrimSpace(h.Get(HeaderInteractionID))
	if r.InteractionID == "" {
		return nil, reqErr(http.StatusNotFound, "Required Interaction-Id header not found")
	}
	if len(r.InteractionID) > 100 || !printable(r.InteractionID) {
		return nil, reqErr(http.StatusNotFound, "Unknown interaction ID")
	}
	switch w := h.Get(HeaderWaitForResponse); strings.ToLower(strings.TrimSpace(w)) {
	case "true":
		r.WaitForResponse = true
	case "false":
	case "":
		return nil, reqErr(http.StatusBadRequest, "wait-for-response header missing")
	default:
		return nil, reqErr(http.StatusBadRequest, "wait for response should be set to true or false")
	}
	if err := r.parseBody(h.Get("Content-Type"), body); err != nil {
		return nil, err
	}
	in, ok := LookupInteraction(r.InteractionID)
	if !ok {
		return nil, reqErr(http.StatusNotFound, "Unknown interaction ID: %s", r.InteractionID)
	}
	r.Interaction = in
	if r.WaitForResponse && !in.SyncAsync {
		return nil, reqErr(http.StatusBadRequest, "Message header requested wait-for-response wrap for unsupported sync-async")
	}
	return r, nil
}

func (r *Request) parseBody(contentType string, body []byte) error {
	if contentType == "" {
		return reqErr(http.StatusBadRequest, "Missing Content-Type header")
	}
	mt, params, err := mime.ParseMediaType(contentType)
	if cs := strings.ToLower(params["charset"]); err != nil || mt != "application/json" || (cs != "" && cs != "utf-8") {
		return reqErr(http.StatusUnsupportedMediaType, "Unsupported content type. Only application/json request bodies are supported.")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return reqErr(http.StatusBadRequest, "Body missing from request")
	}
	if !utf8.Valid(body) {
		// A JSON decoder would quietly turn invalid bytes into U+FFFD;
		// the payload must reach Spine byte for byte, so refuse instead.
		return reqErr(http.StatusBadRequest, "Invalid JSON request body: not UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var b requestBody
	if err := dec.Decode(&b); err != nil {
		var ute *json.UnmarshalTypeError
		if errors.As(err, &ute) {
			return reqErr(http.StatusBadRequest, "Invalid request. Validation errors: {'%s': ['Not a valid %s.']}", ute.Field, ute.Type)
		}
		if strings.HasPrefix(err.Error(), "json: unknown field ") {
			return reqErr(http.StatusBadRequest, "Invalid request. Validation errors: {%s: ['Unknown field.']}",
				strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return reqErr(http.StatusBadRequest, "Invalid JSON request body")
	}
	if _, err := dec.Token(); err != io.EOF {
		return reqErr(http.StatusBadRequest, "Invalid JSON request body")
	}
	var problems []string
	add := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	length := func(field string, s *string, min, max int) {
		if s == nil {
			add("'%s': ['Missing data for required field.']", field)
			return
		}
		if n := utf8.RuneCountInString(*s); n < min || n > max {
			add("'%s': ['Length must be between %d and %d.']", field, min, max)
		}
	}
	length("payload", b.Payload, 1, MaxPayloadChars)
	if len(b.Attachments) > MaxAttachments {
		add("'attachments': ['Longer than maximum length %d.']", MaxAttachments)
	}
	if len(b.ExternalAttachments) > MaxAttachments {
		add("'external_attachments': ['Longer than maximum length %d.']", MaxAttachments)
	}
	if len(problems) == 0 {
		for i, a := range b.Attachments {
			f := fmt.Sprintf("attachments.%d.", i)
			switch {
			case a.ContentType == nil:
				add("'%scontent_type': ['Missing data for required field.']", f)
			case !contentTypes[*a.ContentType]:
				add("'%scontent_type': ['Must be one of the allowed content types.']", f)
			}
			if a.IsBase64 == nil {
				add("'%sis_base64': ['Missing data for required field.']", f)
			}
			length(f+"description", a.Description, 1, MaxDescriptionChars)
			length(f+"payload", a.Payload, 1, MaxPayloadChars)
		}
		for i, x := range b.ExternalAttachments {
			f := fmt.Sprintf("external_attachments.%d.", i)
			for name, v := range map[string]*string{"document_id": x.DocumentID, "message_id": x.MessageID} {
				if v == nil {
					add("'%s%s': ['Missing data for required field.']", f, name)
				} else if len(*v) > 200 || !printable(*v) {
					add("'%s%s': ['Not a usable value.']", f, name)
				}
			}
			length(f+"description", x.Description, 1, MaxDescriptionChars)
		}
	}
	if len(problems) > 0 {
		return reqErr(http.StatusBadRequest, "Invalid request. Validation errors: {%s}", strings.Join(problems, ", "))
	}
	r.Payload = []byte(*b.Payload)
	if err := checkXML(r.Payload); err != nil {
		return reqErr(http.StatusBadRequest, "Invalid request. Validation errors: {'payload': ['%s']}", err)
	}
	for i, a := range b.Attachments {
		att, err := ebxml.AdaptorAttachment(*a.ContentType, *a.IsBase64, *a.Description, *a.Payload)
		if err != nil {
			return reqErr(http.StatusBadRequest, "Invalid request. Validation errors: {'attachments.%d.payload': ['%v']}", i, err)
		}
		r.Attachments = append(r.Attachments, att)
	}
	for _, x := range b.ExternalAttachments {
		r.Attachments = append(r.Attachments, ebxml.ExternalAttachment(*x.DocumentID, *x.MessageID, *x.Description))
	}
	return nil
}

// checkXML makes the check the ebXML builder makes of an HL7 payload, so
// that a bad one is the client's 400 rather than a failure to send.
func checkXML(p []byte) error {
	t := bytes.TrimLeft(bytes.TrimPrefix(p, []byte("\uFEFF")), " \t\r\n")
	if !bytes.HasPrefix(t, []byte("<")) {
		return errors.New("the payload is not XML")
	}
	return nil
}

// printable reports whether a header-borne value is free of control
// characters (it goes into XML and MIME headers).
func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

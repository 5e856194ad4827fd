package ebxml

import (
	"encoding/base64"
	"fmt"
)

// The MHS adaptor's REST API (mhs/outbound/mhsapi.json) carries attachments
// as {content_type, is_base64, description, payload} with the payload a
// string: the text itself, or base64 when is_base64 is true. These helpers
// convert between that form and Attachment, whose Body is always the bytes.

// AdaptorPayload returns the attachment the way the MHS adaptor hands it to
// its client: the body as text when it is textual (see IsText), else
// base64 with isBase64 set.
func (a Attachment) AdaptorPayload() (payload string, isBase64 bool) {
	if a.IsText() {
		return string(a.Body), false
	}
	return base64.StdEncoding.EncodeToString(a.Body), true
}

// AdaptorAttachment makes an Attachment from the MHS adaptor API's fields.
// A base64 payload is decoded (and will be sent base64-encoded again);
// errors say what is wrong with the payload.
func AdaptorAttachment(contentType string, isBase64 bool, description, payload string) (Attachment, error) {
	a := Attachment{ContentType: contentType, Description: description, IsBase64: isBase64}
	if !isBase64 {
		a.Body = []byte(payload)
		return a, nil
	}
	body, junk, err := decodeBase64([]byte(payload))
	if err != nil {
		return Attachment{}, fmt.Errorf("attachment payload: invalid base64: %w", err)
	}
	if junk > 0 {
		return Attachment{}, fmt.Errorf("attachment payload: %d characters outside the base64 alphabet", junk)
	}
	a.Body = body
	return a, nil
}

// ExternalAttachment makes the manifest-only reference to a document sent
// in another message (the adaptor API's external_attachments).
func ExternalAttachment(documentID, messageID, description string) Attachment {
	return Attachment{External: true, DocumentID: documentID, MessageID: messageID, Description: description,
		Title: filename(description)}
}

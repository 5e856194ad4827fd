package spine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
)

// MaxBodyBytes caps an HTTP request body. An EPS prescription is ~20 KB; the
// MHS adaptor allows attachments up to 5,000,000 characters each, so 16 MiB
// leaves room for a few without letting one client fill memory.
const MaxBodyBytes = 16 << 20

// Handler returns the service's HTTP API:
//
//	POST /reliablemessaging/reliablerequest  ebXML (the Spine's MHS endpoint)
//	POST /Prescription                        the same, as NHS England's EPS FHIR API calls it
//	GET  /api/prescriptions/{id}              a prescription record as JSON
//	GET  /healthz                             200 when the store answers
//	GET  /metrics                             Prometheus text format
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reliablemessaging/reliablerequest", s.handleEbXML)
	mux.HandleFunc("POST /Prescription", s.handleEbXML)
	mux.HandleFunc("GET /api/prescriptions/{id}", s.handlePrescription)
	mux.HandleFunc("GET /healthz", s.handleHealth)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{}))
	return s.guard(mux)
}

// NewHTTPServer returns an http.Server for h with timeouts that stop slow
// or stalled clients from holding connections.
func NewHTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
	}
}

// statusWriter remembers the status code written, for metrics.
type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// guard counts requests and turns a panic into a 500 (a bug must not take
// the service down or leave the client hanging).
func (s *Service) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if sw.code == 0 {
					httpError(sw, http.StatusInternalServerError, "internal error")
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			s.metrics.httpReqs.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
		}()
		next.ServeHTTP(sw, r)
	})
}

// httpError writes a JSON error body.
func httpError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

// readBody reads a request body up to MaxBodyBytes.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, fmt.Errorf("request body over %d bytes", MaxBodyBytes)
	}
	return body, err
}

// handleEbXML receives one ebXML message carrying an HL7 V3 interaction.
// The HTTP reply is the ebXML Acknowledgment (or ErrorList) and, when the
// sender asked for a synchronous reply, the HL7 answer as a second part.
func (s *Service) handleEbXML(w http.ResponseWriter, r *http.Request) {
	now := s.now()
	body, err := readBody(w, r)
	if err != nil {
		s.writeEbXMLError(w, nil, now, ebxml.Errorf(ebxml.OtherError, ebxml.RuleTooLarge, "%v", err))
		return
	}
	msg, err := ebxml.Parse(r.Header.Get("Content-Type"), body, ebxml.Limits{})
	if err != nil {
		ee := ebxml.AsError(err)
		if ee == nil {
			ee = ebxml.Errorf(ebxml.OtherError, "", "%v", err)
		}
		var hdr *ebxml.MessageHeader
		if msg != nil {
			hdr = &msg.Header
		}
		s.writeEbXMLError(w, hdr, now, ee)
		return
	}
	if errs := s.checkHeader(r, msg); len(errs) > 0 {
		s.writeEbXMLError(w, &msg.Header, now, errs...)
		return
	}
	ctx := r.Context()
	// ebMS duplicate elimination: a MessageId seen before gets the answer
	// sent the first time, byte for byte, and is not processed again.
	if rc, ok, err := s.receipt(ctx, msg.Header.MessageId); err != nil {
		s.writeEbXMLError(w, &msg.Header, now, ebxml.Errorf(ebxml.DeliveryFailure, "", "the store is unavailable; send the message again"))
		return
	} else if ok {
		writeBody(w, http.StatusOK, rc.ContentType, rc.Response)
		return
	}
	reply, err := s.Handle(ctx, Inbound{Payload: msg.Payload, FromParty: msg.Header.From.ID,
		ReplyAsync: !msg.Header.SyncReply, EbxmlMessageID: msg.Header.MessageId, ConversationID: msg.Header.ConversationId})
	if err != nil {
		s.log.Error("handle", "ebxml", msg.Header.MessageId, "err", err)
		s.writeEbXMLError(w, &msg.Header, now, ebxml.Errorf(ebxml.DeliveryFailure, "", "the message could not be stored; send it again"))
		return
	}
	ctype, out := ebxml.Ack(msg.Header, ids.NewUUID(), now, s.partyKey)
	if msg.Header.SyncReply {
		// The sender waits on this connection: the HL7 answer rides with the ack.
		if c, b, err := ebxml.AckWithPayload(msg.Header, ids.NewUUID(), now, s.partyKey, reply.Body); err == nil {
			ctype, out = c, b
		} else {
			s.log.Error("sync reply", "ebxml", msg.Header.MessageId, "err", err)
		}
	}
	s.putReceipt(ctx, msg.Header, now, ctype, out)
	writeBody(w, http.StatusOK, ctype, out)
}

func writeBody(w http.ResponseWriter, code int, ctype string, body []byte) {
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeEbXMLError answers with an ebXML ErrorList. HTTP 500, as the Spine
// answers a message it will not take (the MHS adaptor reads NACKs from 500s).
func (s *Service) writeEbXMLError(w http.ResponseWriter, hdr *ebxml.MessageHeader, now time.Time, errs ...*ebxml.Error) {
	ctype, out := ebxml.ErrorList(hdr, ids.NewUUID(), now, errs...)
	writeBody(w, http.StatusInternalServerError, ctype, out)
}

// receipt returns what was answered to an ebXML MessageId received before.
func (s *Service) receipt(ctx context.Context, id string) (store.Receipt, bool, error) {
	if id == "" {
		return store.Receipt{}, false, nil
	}
	var rc store.Receipt
	err := s.store.View(ctx, func(tx store.ReadTx) error {
		var err error
		rc, err = tx.Receipt(ctx, id)
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.Receipt{}, false, nil
	}
	return rc, err == nil, err
}

// putReceipt remembers the answer to an ebXML message. Failing to remember
// it is not fatal: a resend is then recognised by its HL7 message id and
// answered the same way.
func (s *Service) putReceipt(ctx context.Context, h ebxml.MessageHeader, now time.Time, ctype string, body []byte) {
	if h.MessageId == "" {
		return
	}
	err := s.store.Update(ctx, func(tx store.Tx) error {
		return tx.PutReceipt(ctx, store.Receipt{MessageID: h.MessageId, FromParty: h.From.ID, ReceivedAt: now,
			ContentType: ctype, Response: body})
	})
	if err != nil && !errors.Is(err, store.ErrDuplicate) {
		s.log.Warn("receipt not stored", "ebxml", h.MessageId, "err", err)
	}
}

// handleHealth answers 200 only when the store does.
func (s *Service) handleHealth(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		httpError(w, http.StatusServiceUnavailable, "store unavailable: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
}

// checkHeader makes the Spine's checks of a received ebXML header: reliable
// messaging blocks, one manifest reference, the mm service, our party key,
// and the SOAPAction matching Service/Action.
func (s *Service) checkHeader(r *http.Request, msg *ebxml.Message) []*ebxml.Error {
	o := ebxml.SpineEPS
	o.Party = s.partyKey
	o.SOAPAction = r.Header.Get("SOAPAction")
	o.Now = s.now()
	return ebxml.CheckHeader(msg.Header, o)
}

package e2e

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openeps/openeps/internal/ebxml"
	"github.com/openeps/openeps/internal/ids"
	"github.com/openeps/openeps/internal/store"
)

// gpSplit is the GP's MHS split as the NHS adaptor is (outbound and
// inbound services): the sender S posts to the Spine, and the Spine sends
// the answers to the receiver R, a second eps mhs process on an address
// that survives its restarts.
type gpSplit struct {
	w        *world
	spineDB  string
	spine    *proc
	sender   *proc
	receiver *proc
	rDB      string
}

func newGPSplit(t *testing.T, spineAddr string, serveExtra, receiverExtra []string) *gpSplit {
	w := newWorld(t)
	g := &gpSplit{w: w, spineDB: w.path("spine.db"), rDB: w.path("receiver.db")}
	g.spine = w.startServe(spineAddr, g.spineDB, serveExtra...)
	g.receiver = w.startMHS("gp-in", gpParty, gpASID, g.spine.urls[0], g.rDB, freeAddr(t), receiverExtra...)
	g.sender = w.startMHS("gp-out", gpParty, gpASID, g.spine.urls[0], w.path("sender.db"), "127.0.0.1:0")
	register(t, g.spineDB, gpParty, gpASID, "A83008", g.receiver.urls[1])
	return g
}

// sendPrescriptions sends n fresh prescriptions through the sender
// without waiting, and returns their Message-Ids.
func (g *gpSplit) sendPrescriptions(t *testing.T, n int) []string {
	t.Helper()
	var idList []string
	for range n {
		_, payload := newPrescription(t, "FA565")
		id := ids.NewUUID()
		g.sender.api().mustSend("PORX_IN020101SM31", id, false, payload, http.StatusAccepted)
		idList = append(idList, id)
	}
	return idList
}

// metric reads one counter from eps serve's /metrics.
func (g *gpSplit) metric(t *testing.T, name string) float64 {
	t.Helper()
	resp, err := g.w.client("probe").Get(g.spine.urls[0] + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) == 2 && f[0] == name {
			v, _ := strconv.ParseFloat(f[1], 64)
			return v
		}
	}
	return 0
}

// exactlyOnce stops everything and counts: the Spine applied each message
// once and acknowledged-delivered each answer; the receiver kept exactly
// one answer for each message sent, referring to it.
func (g *gpSplit) exactlyOnce(t *testing.T, sent []string) []store.OutboxItem {
	t.Helper()
	g.sender.stop()
	g.receiver.stop()
	g.spine.stop()
	c, outbox, _ := storeCounts(t, g.spineDB)
	n := len(sent)
	if c.Records != n || c.Messages != n {
		t.Errorf("the Spine holds %d records and %d messages for %d prescriptions", c.Records, c.Messages, n)
	}
	if c.Outbox[store.OutboxDone] != n || len(outbox) != n {
		t.Errorf("the Spine's outbox: %v (%d items), want %d done", c.Outbox, len(outbox), n)
	}
	rc, _, inbox := storeCounts(t, g.rDB)
	refs := map[string]int{}
	for _, it := range inbox {
		refs[it.RefToMessage]++
	}
	if len(inbox) != n || rc.Receipts != n {
		t.Errorf("the receiver kept %d messages (%d receipts) for %d sent", len(inbox), rc.Receipts, n)
	}
	for _, id := range sent {
		if refs[id] != 1 {
			t.Errorf("message %s: %d answers kept, want 1", id, refs[id])
		}
	}
	return outbox
}

// TestReceiverDownForAWhile: the GP's inbound MHS is down while the Spine
// has answers for it; the Spine keeps trying, is itself stopped (SIGTERM)
// and started again meanwhile, and carries on from its store; once the
// receiver is back every answer arrives, once.
func TestReceiverDownForAWhile(t *testing.T) {
	g := newGPSplit(t, freeAddr(t), nil, nil)
	g.receiver.stop()
	sent := g.sendPrescriptions(t, 30)
	deadline := time.Now().Add(10 * time.Second)
	for g.metric(t, "eps_delivery_retries_total") < 30 {
		if time.Now().After(deadline) {
			t.Fatal("the Spine did not retry while the receiver was down")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if n := g.metric(t, "eps_delivery_acknowledged_total"); n != 0 {
		t.Fatalf("%v answers acknowledged while the receiver was down", n)
	}
	g.spine.stop()
	g.spine.restart()
	time.Sleep(time.Second)
	g.receiver.restart()
	if msgs := g.receiver.api().waitInbox(30, 30*time.Second); len(msgs) != 30 {
		t.Fatalf("%d answers arrived after the receiver came back", len(msgs))
	}
	for _, it := range g.exactlyOnce(t, sent) {
		if it.Attempts < 2 {
			t.Errorf("answer %s delivered at the first attempt while the receiver was down", it.ID)
		}
	}
}

// TestReceiverAcksSlowly: the receiver stores each answer but acknowledges
// it after the Spine has stopped waiting; the Spine sends again, the
// receiver recognises the duplicate and answers with the original
// acknowledgment at once; every answer is kept once.
func TestReceiverAcksSlowly(t *testing.T) {
	g := newGPSplit(t, "127.0.0.1:0", []string{"--delivery-timeout", "500ms"}, []string{"--inbound-ack-delay", "1500ms"})
	sent := g.sendPrescriptions(t, 10)
	deadline := time.Now().Add(30 * time.Second)
	for g.metric(t, "eps_delivery_acknowledged_total") < 10 {
		if time.Now().After(deadline) {
			t.Fatalf("only %v of 10 acknowledged", g.metric(t, "eps_delivery_acknowledged_total"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r := g.metric(t, "eps_delivery_retries_total"); r < 10 {
		t.Errorf("%v retries: the slow acknowledgments were not lost", r)
	}
	for _, it := range g.exactlyOnce(t, sent) {
		if it.Attempts < 2 {
			t.Errorf("answer %s acknowledged at the first attempt despite the slow receiver", it.ID)
		}
	}
}

// TestSpineKilledMidSend: eps serve is killed (SIGKILL) while its answers
// are on the way (the receiver has them but has not acknowledged); started
// again on the same store, it sends them again and they arrive once.
func TestSpineKilledMidSend(t *testing.T) {
	addr := freeAddr(t)
	g := newGPSplit(t, addr, []string{"--delivery-timeout", "3s"}, []string{"--inbound-ack-delay", "2s"})
	sent := g.sendPrescriptions(t, 10)
	// Wait until the receiver holds some answers it has not acknowledged yet.
	deadline := time.Now().Add(15 * time.Second)
	for len(g.receiver.api().inbox(0)) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no answer reached the receiver")
		}
		time.Sleep(50 * time.Millisecond)
	}
	g.spine.kill()
	if held := len(g.receiver.api().inbox(0)); held >= 10 {
		t.Logf("all %d answers had reached the receiver before the kill", held)
	}
	g.spine.restart()
	if msgs := g.receiver.api().waitInbox(10, 40*time.Second); len(msgs) != 10 {
		t.Fatalf("%d of 10 answers arrived", len(msgs))
	}
	deadline = time.Now().Add(30 * time.Second)
	for g.metric(t, "eps_delivery_acknowledged_total") == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the restarted Spine delivered nothing")
		}
		time.Sleep(100 * time.Millisecond)
	}
	// Every item is done once its acknowledgment is in: wait for the rest.
	time.Sleep(4 * time.Second)
	g.exactlyOnce(t, sent)
}

// TestSenderKilledMidSend: the GP's outbound eps mhs is killed (SIGKILL)
// while calls are in flight; the prescribing system sends each call that
// failed again with the same Message-Id once it is back. The Spine applies
// every prescription once, and every message gets one answer.
func TestSenderKilledMidSend(t *testing.T) {
	g := newGPSplit(t, "127.0.0.1:0", nil, nil)
	const n = 24
	payloads := make([][]byte, n)
	sent := make([]string, n)
	for i := range payloads {
		_, payloads[i] = newPrescription(t, "FA565")
		sent[i] = ids.NewUUID()
	}
	var mu sync.Mutex
	var failed []int
	var done int
	var wg sync.WaitGroup
	killed := make(chan struct{})
	sem := make(chan struct{}, 6)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			status, _, err := g.sender.api().send("PORX_IN020101SM31", sent[i], false, payloads[i])
			mu.Lock()
			defer mu.Unlock()
			if err != nil || status != http.StatusAccepted {
				failed = append(failed, i)
				return
			}
			done++
			if done == n/3 {
				close(killed)
			}
		}()
	}
	<-killed
	g.sender.kill()
	wg.Wait()
	if len(failed) == 0 {
		t.Log("every call had finished before the kill")
	}
	g.sender.restart()
	sort.Ints(failed)
	for _, i := range failed {
		g.sender.api().mustSend("PORX_IN020101SM31", sent[i], false, payloads[i], http.StatusAccepted)
	}
	if msgs := g.receiver.api().waitInbox(n, 30*time.Second); len(msgs) != n {
		t.Fatalf("%d of %d answers arrived", len(msgs), n)
	}
	time.Sleep(500 * time.Millisecond)
	g.exactlyOnce(t, sent)
}

// TestDuplicatesOnPurpose: the same message sent twice through the
// adaptor, the same ebXML bytes posted twice straight to the Spine, and an
// answer posted twice straight to the receiver: each is applied and kept
// once, and every duplicate is answered with the original acknowledgment.
func TestDuplicatesOnPurpose(t *testing.T) {
	g := newGPSplit(t, freeAddr(t), nil, nil)
	_, payload := newPrescription(t, "FA565")
	id := ids.NewUUID()
	for range 3 {
		g.sender.api().mustSend("PORX_IN020101SM31", id, false, payload, http.StatusAccepted)
	}

	// Straight to the Spine, as an MHS that lost the acknowledgment resends.
	_, payload2 := newPrescription(t, "FA565")
	id2 := ids.NewUUID()
	ct, body, err := ebxml.Build(&ebxml.Message{Header: ebxml.MessageHeader{
		From: ebxml.Party{ID: gpParty}, To: ebxml.Party{ID: "YES-0000806"}, CPAId: "S1001A1630", ConversationId: id2,
		Service: ebxml.ServiceMM, Action: "PORX_IN020101SM31", MessageId: id2, SentAt: time.Now(),
		DuplicateElimination: true, AckRequested: true, AckActor: ebxml.ActorToPartyMSH, SyncReply: true,
		SyncReplyActor: ebxml.ActorNext}, Payload: payload2})
	if err != nil {
		t.Fatal(err)
	}
	client := g.w.client("gp-out-raw")
	var first []byte
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodPost, g.spine.urls[0]+"/reliablemessaging/reliablerequest", bytes.NewReader(body))
		req.Header.Set("Content-Type", ct)
		req.Header.Set("SOAPAction", "urn:nhs:names:services:mm/PORX_IN020101SM31")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted {
			t.Fatalf("HTTP %d\n%s", resp.StatusCode, out)
		}
		if i == 0 {
			first = out
		} else if !bytes.Equal(out, first) {
			t.Errorf("resend %d got a different acknowledgment", i)
		}
	}

	// Duplicate elimination survives a restart: the receipts are in the store.
	g.spine.stop()
	g.spine.restart()
	req, _ := http.NewRequest(http.MethodPost, g.spine.urls[0]+"/reliablemessaging/reliablerequest", bytes.NewReader(body))
	req.Header.Set("Content-Type", ct)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || !bytes.Equal(again, first) {
		t.Errorf("after a restart: HTTP %d, the original acknowledgment %v", resp.StatusCode, bytes.Equal(again, first))
	}

	// And an answer resent straight to the receiver.
	msgs := g.receiver.api().waitInbox(2, 20*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("%d answers", len(msgs))
	}
	m := msgs[0]
	ansCT, ansBody, err := ebxml.Build(&ebxml.Message{Header: ebxml.MessageHeader{
		From: ebxml.Party{ID: m.FromPartyID}, To: ebxml.Party{ID: gpParty}, CPAId: m.CPAId, ConversationId: m.CorrelationID,
		Service: m.Service, Action: m.InteractionID, MessageId: m.MessageID, RefToMessageId: m.RefToMessageID,
		SentAt: time.Now(), DuplicateElimination: true, AckRequested: true, AckActor: ebxml.ActorToPartyMSH,
		SyncReply: true, SyncReplyActor: ebxml.ActorNext}, Payload: []byte(m.Payload)})
	if err != nil {
		t.Fatal(err)
	}
	spineSide := g.w.client("spine-raw")
	req, _ = http.NewRequest(http.MethodPost, g.receiver.urls[1]+"/reliablemessaging/reliablerequest", bytes.NewReader(ansBody))
	req.Header.Set("Content-Type", ansCT)
	resp, err = spineSide.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ack, err := ebxml.Parse(resp.Header.Get("Content-Type"), out, ebxml.Limits{})
	if err != nil || resp.StatusCode != 200 || !ack.Acknowledges(m.MessageID) {
		t.Fatalf("resent answer: HTTP %d %v", resp.StatusCode, err)
	}
	g.exactlyOnce(t, []string{id, id2})
}

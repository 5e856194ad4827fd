package mhs

// Workflows of the MHS adaptor's interactions.json.
const (
	WorkflowAsyncReliable = "async-reliable"
	WorkflowSync          = "sync"
)

// Interaction is what the adaptor knows of one interaction ID.
type Interaction struct {
	ID      string // the MIM (UK) spelling
	Service string // eb:Service / wsa:Action service
	// Workflow is how it travels: async-reliable (ebXML, answer later as a
	// message of its own) or sync (SOAP, answer on the connection).
	Workflow string
	// SyncAsync says the adaptor may hold the client's call until the
	// async answer arrives (wait-for-response: true).
	SyncAsync bool
}

const (
	serviceMM      = "urn:nhs:names:services:mm"
	serviceMMQuery = "urn:nhs:names:services:mmquery"
)

// interactions are the EPS entries of the MHS adaptor's interactions.json
// (mhs/common/data/interactions/interactions.json: the mm and mmquery
// services), plus the patient release request, which that file lacks and
// which travels like the nominated one. eps mhs speaks to the Spine's EPS
// only, so the other services (PDS, SCR, GP2GP…) are not offered.
var interactions = map[string]Interaction{
	"PORX_IN020101UK31": {Service: serviceMM, Workflow: WorkflowAsyncReliable, SyncAsync: true},
	"PORX_IN020102UK31": {Service: serviceMM, Workflow: WorkflowAsyncReliable, SyncAsync: true},
	"PORX_IN020101UK04": {Service: serviceMM, Workflow: WorkflowAsyncReliable, SyncAsync: true},
	"PORX_IN020102UK04": {Service: serviceMM, Workflow: WorkflowAsyncReliable, SyncAsync: true},
	"PORX_IN030101UK32": {Service: serviceMM, Workflow: WorkflowAsyncReliable, SyncAsync: true},
	"PORX_IN060102UK30": {Service: serviceMM, Workflow: WorkflowAsyncReliable, SyncAsync: true},
	"PORX_IN080101UK31": {Service: serviceMM, Workflow: WorkflowAsyncReliable, SyncAsync: true},
	"PORX_IN090101UK31": {Service: serviceMM, Workflow: WorkflowAsyncReliable, SyncAsync: true},
	"PORX_IN100101UK31": {Service: serviceMM, Workflow: WorkflowAsyncReliable, SyncAsync: true},
	"PORX_IN132004UK30": {Service: serviceMM, Workflow: WorkflowAsyncReliable, SyncAsync: true},
	"PORX_IN510101UK31": {Service: serviceMM, Workflow: WorkflowAsyncReliable, SyncAsync: true},
	"PORX_IN540101UK31": {Service: serviceMM, Workflow: WorkflowAsyncReliable, SyncAsync: true},
	"QURX_IN000005UK99": {Service: serviceMMQuery, Workflow: WorkflowSync},
}

// LookupInteraction finds an interaction by the ID a client sends: the UK
// spelling of interactions.json or the SM spelling current EPS systems use
// (PORX_IN020101SM31).
func LookupInteraction(id string) (Interaction, bool) {
	key := id
	if len(id) == 17 && id[13:15] == "SM" {
		key = id[:13] + "UK" + id[15:]
	}
	in, ok := interactions[key]
	if !ok {
		return Interaction{}, false
	}
	in.ID = key
	return in, true
}

// Interactions lists the interaction IDs (UK spelling) the adaptor takes.
func Interactions() []string {
	out := make([]string, 0, len(interactions))
	for k := range interactions {
		out = append(out, k)
	}
	return out
}

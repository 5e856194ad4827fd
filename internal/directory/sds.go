package directory

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ParseDuration reads an ISO 8601 duration as SDS writes reliability
// intervals (PT1M, PT5M, P1DT2H, PT0.5S, P2W). Years and months are refused:
// their length depends on the calendar.
func ParseDuration(s string) (time.Duration, error) {
	orig := s
	bad := func(why string) (time.Duration, error) {
		return 0, fmt.Errorf("duration %q: %s", orig, why)
	}
	if len(s) > 64 {
		return bad("too long")
	}
	if !strings.HasPrefix(s, "P") || len(s) < 3 {
		return bad("not an ISO 8601 duration (PnDTnHnMnS)")
	}
	s = s[1:]
	var total float64
	inTime := false
	seen := ""
	for s != "" {
		if s[0] == 'T' {
			if inTime {
				return bad("two T designators")
			}
			inTime = true
			s = s[1:]
			if s == "" {
				return bad("nothing after T")
			}
			continue
		}
		i := 0
		for i < len(s) && (s[i] >= '0' && s[i] <= '9' || s[i] == '.' || s[i] == ',') {
			i++
		}
		if i == 0 || i == len(s) {
			return bad("a number must be followed by a designator")
		}
		n, err := strconv.ParseFloat(strings.Replace(s[:i], ",", ".", 1), 64)
		if err != nil || n < 0 {
			return bad("bad number")
		}
		unit := s[i]
		s = s[i+1:]
		key := string(unit)
		if inTime {
			key = "T" + key
		}
		if strings.Contains(seen, key+";") {
			return bad("a designator appears twice")
		}
		seen += key + ";"
		var scale time.Duration
		switch {
		case !inTime && unit == 'W':
			scale = 7 * 24 * time.Hour
		case !inTime && unit == 'D':
			scale = 24 * time.Hour
		case inTime && unit == 'H':
			scale = time.Hour
		case inTime && unit == 'M':
			scale = time.Minute
		case inTime && unit == 'S':
			scale = time.Second
		case !inTime && (unit == 'Y' || unit == 'M'):
			return bad("years and months have no fixed length")
		default:
			return bad(fmt.Sprintf("unknown designator %q", unit))
		}
		total += n * float64(scale)
		if total > math.MaxInt64/2 {
			return bad("too long a period")
		}
	}
	return time.Duration(total), nil
}

// FormatDuration writes d as ISO 8601 (PT1M30S); 0 is PT0S.
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return "PT0S"
	}
	var b strings.Builder
	b.WriteString("P")
	if days := d / (24 * time.Hour); days > 0 {
		fmt.Fprintf(&b, "%dD", days)
		d -= days * 24 * time.Hour
	}
	if d == 0 {
		return b.String()
	}
	b.WriteString("T")
	if h := d / time.Hour; h > 0 {
		fmt.Fprintf(&b, "%dH", h)
		d -= h * time.Hour
	}
	if m := d / time.Minute; m > 0 {
		fmt.Fprintf(&b, "%dM", m)
		d -= m * time.Minute
	}
	if d > 0 {
		s := strconv.FormatFloat(d.Seconds(), 'f', -1, 64)
		b.WriteString(s + "S")
	}
	return b.String()
}

// FromSDS makes an entry from the SDS LDAP lookups the MHS adaptor makes
// (routing.json: nhsMhsFQDN, nhsMHSEndPoint, nhsMHSPartyKey, nhsMhsCPAId,
// uniqueIdentifier; reliability.json: the nhsMHS* reliability attributes).
// reliability may be nil (DefaultReliability applies).
func FromSDS(routing, reliability []byte) (Entry, error) {
	var r struct {
		FQDN      string          `json:"nhsMhsFQDN"`
		Endpoints json.RawMessage `json:"nhsMHSEndPoint"`
		PartyKey  string          `json:"nhsMHSPartyKey"`
		CPAId     string          `json:"nhsMhsCPAId"`
		ASIDs     json.RawMessage `json:"uniqueIdentifier"`
		ODS       string          `json:"nhsIDCode"`
	}
	if err := json.Unmarshal(routing, &r); err != nil {
		return Entry{}, fmt.Errorf("sds routing: %w", err)
	}
	e := Entry{PartyKey: r.PartyKey, FQDN: r.FQDN, ODS: r.ODS, Reliability: DefaultReliability()}
	if r.CPAId != "" {
		e.CPAIds = []string{r.CPAId}
	}
	if eps := stringsOf(r.Endpoints); len(eps) > 0 {
		e.Endpoint = eps[0]
	}
	if asids := stringsOf(r.ASIDs); len(asids) > 0 {
		e.ASID = asids[0]
	}
	if e.PartyKey == "" {
		return Entry{}, errors.New("sds routing: no nhsMHSPartyKey")
	}
	if reliability != nil {
		var f sdsFields
		if err := json.Unmarshal(reliability, &f); err != nil {
			return Entry{}, fmt.Errorf("sds reliability: %w", err)
		}
		rel, err := f.reliability()
		if err != nil {
			return Entry{}, fmt.Errorf("sds reliability: %w", err)
		}
		e.Reliability = rel
	}
	return e, e.Validate()
}

// stringsOf reads an LDAP attribute that is a string or a list of strings.
func stringsOf(raw json.RawMessage) []string {
	if len(raw) == 0 {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

// FromSDSFHIR makes an entry from the SDS FHIR API's Endpoint search
// (sds_endpoint_response.json): the first Endpoint's address, managing
// organisation, nhsMhsFQDN / nhsMhsPartyKey / nhsMhsCPAId identifiers,
// the reliability extension and the interaction it serves. The FHIR API
// puts ASIDs on Device resources, so asid is given separately ("" if not
// known).
func FromSDSFHIR(bundle []byte, asid string) (Entry, error) {
	type identifier struct {
		System string `json:"system"`
		Value  string `json:"value"`
	}
	type extension struct {
		URL            string          `json:"url"`
		ValueString    string          `json:"valueString"`
		ValueInteger   *int            `json:"valueInteger"`
		ValueReference json.RawMessage `json:"valueReference"`
		Extension      []extension     `json:"extension"`
	}
	var b struct {
		ResourceType string `json:"resourceType"`
		Entry        []struct {
			Resource struct {
				ResourceType         string       `json:"resourceType"`
				Address              string       `json:"address"`
				Identifier           []identifier `json:"identifier"`
				Extension            []extension  `json:"extension"`
				ManagingOrganization struct {
					Identifier identifier `json:"identifier"`
				} `json:"managingOrganization"`
			} `json:"resource"`
		} `json:"entry"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		return Entry{}, fmt.Errorf("sds endpoint bundle: %w", err)
	}
	if b.ResourceType != "Bundle" {
		return Entry{}, errors.New("sds endpoint bundle: not a FHIR Bundle")
	}
	for _, be := range b.Entry {
		res := be.Resource
		if res.ResourceType != "Endpoint" {
			continue
		}
		e := Entry{Endpoint: res.Address, ASID: asid, ODS: res.ManagingOrganization.Identifier.Value,
			Reliability: DefaultReliability()}
		for _, id := range res.Identifier {
			switch id.System[strings.LastIndexByte(id.System, '/')+1:] {
			case "nhsMhsFQDN":
				e.FQDN = id.Value
			case "nhsMhsPartyKey":
				e.PartyKey = id.Value
			case "nhsMhsCPAId":
				e.CPAIds = []string{id.Value}
			}
		}
		var f sdsFields
		for _, ext := range res.Extension {
			switch {
			case strings.HasSuffix(ext.URL, "Extension-SDS-ReliabilityConfiguration"):
				for _, x := range ext.Extension {
					switch x.URL {
					case "nhsMHSSyncReplyMode":
						f.SyncReplyMode = x.ValueString
					case "nhsMHSRetryInterval":
						f.RetryInterval = x.ValueString
					case "nhsMHSRetries":
						if x.ValueInteger != nil {
							f.Retries = *x.ValueInteger
						}
					case "nhsMHSPersistDuration":
						f.PersistDuration = x.ValueString
					case "nhsMHSDuplicateElimination":
						f.DuplicateElimination = x.ValueString
					case "nhsMHSAckRequested":
						f.AckRequested = x.ValueString
					}
				}
				rel, err := f.reliability()
				if err != nil {
					return Entry{}, fmt.Errorf("sds endpoint bundle: %w", err)
				}
				e.Reliability = rel
			case strings.HasSuffix(ext.URL, "Extension-SDS-NhsServiceInteractionId"):
				var ref struct {
					Identifier identifier `json:"identifier"`
				}
				if json.Unmarshal(ext.ValueReference, &ref) == nil && ref.Identifier.Value != "" {
					e.Interactions = append(e.Interactions, ref.Identifier.Value)
				}
			}
		}
		if e.PartyKey == "" {
			return Entry{}, errors.New("sds endpoint bundle: the Endpoint has no nhsMhsPartyKey")
		}
		return e, e.Validate()
	}
	return Entry{}, errors.New("sds endpoint bundle: no Endpoint")
}

package rxmsg

import (
	"testing"
	"time"

	"github.com/openeps/openeps/internal/dispense"
	"github.com/openeps/openeps/internal/hl7v3"
	"github.com/openeps/openeps/internal/prescribe"
	"github.com/openeps/openeps/internal/rx"
	"github.com/openeps/openeps/internal/testutil"
)

// AgentPerson/agentPerson/id is an SDS user ID only under the SDS user root
// (1.2.826.0.1285.0.2.0.65); under any other root it is a professional code.
func TestAgentPersonIDByRoot(t *testing.T) {
	// The real release request names the pharmacist by professional code
	// (root …0.2.1.54): no SDS user.
	in, _ := mapFixture(t, testutil.ReadFixture(t, "hl7v3", "PORX_IN132004UK30-patient-release-request.xml"))
	if rel := in.(rx.PatientReleaseRequest); rel.DispenserSDSUser != "" || rel.DispenserRoleProfile != "555086415105" {
		t.Errorf("patient release: SDS user %q, role profile %q; want none and 555086415105",
			rel.DispenserSDSUser, rel.DispenserRoleProfile)
	}
	// The real cancel request names the prescriber by SDS user ID.
	in, _ = mapFixture(t, testutil.ReadFixture(t, "hl7v3", "PORX_IN030101UK32-cancel-request.xml"))
	if c := in.(rx.CancelRequest); c.AuthorSDSUser != "555086718101" || c.AuthorCode != "" {
		t.Errorf("cancel fixture: SDS user %q, code %q; want 555086718101 and none", c.AuthorSDSUser, c.AuthorCode)
	}

	at := time.Date(2025, 3, 3, 9, 0, 0, 0, time.UTC)
	// A prescribing system writes the prescriber's professional code there.
	p := prescribe.Example(at, "FA565")
	if _, err := prescribe.Build(&p); err != nil {
		t.Fatal(err)
	}
	b, err := prescribe.Cancel(prescribe.CancelOf(&p, "", "", at))
	if err != nil {
		t.Fatal(err)
	}
	c := mapped(t, b).(rx.CancelRequest)
	if c.AuthorSDSUser != "" || c.AuthorCode != p.Prescriber.ProfessionalCode {
		t.Errorf("built cancel: SDS user %q, code %q; want none and %s", c.AuthorSDSUser, c.AuthorCode, p.Prescriber.ProfessionalCode)
	}
	// A pharmacy system writes the SDS user ID there.
	d := dispense.Example()
	b, err = dispense.PatientRelease(d, p.ShortID, at)
	if err != nil {
		t.Fatal(err)
	}
	if rel := mapped(t, b).(rx.PatientReleaseRequest); rel.DispenserSDSUser != d.SDSUserID {
		t.Errorf("built release: SDS user %q; want %s", rel.DispenserSDSUser, d.SDSUserID)
	}
}

// The notification's time is its own effectiveTime and its recipient the
// pricing authority, as the real message has them.
func TestNotificationTimeAndRecipient(t *testing.T) {
	in, _ := mapFixture(t, testutil.ReadFixture(t, "hl7v3", "PORX_IN080101UK31-dispense-notification.xml"))
	dn := in.(rx.DispenseNotification)
	// effectiveTime 20210507144729; the supply header's author time is 20220201000000.
	if dn.DispenseTime != "20210507144729" || dn.RecipientODS != "T1450" {
		t.Errorf("time %s, recipient %s; want 20210507144729 and T1450", dn.DispenseTime, dn.RecipientODS)
	}
}

func mapped(t *testing.T, b []byte) any {
	t.Helper()
	m, err := hl7v3.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	in, err := Input(m, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return in
}

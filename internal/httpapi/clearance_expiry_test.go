package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

func TestHPSDueReminders(t *testing.T) {
	days := []int{30, 90, 270}
	for _, c := range []struct {
		left int
		sent []int
		want []int
	}{
		{300, nil, nil},
		{271, nil, nil},
		{270, nil, []int{270}},
		{200, []int{270}, nil},
		{90, []int{270}, []int{90}},
		{45, nil, []int{90, 270}},
		{0, nil, []int{30, 90, 270}},
		{-3, []int{30, 90, 270}, nil},
		{10, []int{90, 270}, []int{30}},
	} {
		if got := clearance.DueReminders(c.left, days, c.sent); h4Ints(got) != h4Ints(c.want) {
			t.Errorf("left %d sent %v: %v, want %v", c.left, c.sent, got, c.want)
		}
	}
}

// h4Ints renders a list of days as "30 90 270".
func h4Ints(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, " ")
}

var h4TokenInURL = regexp.MustCompile(`token=([A-Za-z0-9_-]{43})&email=([^&\s]+)&type=renovacion`)

// TestHPSExpiryJob runs the expiry job on a fake clock: "today" is the
// office's (Europe/Madrid), expired clearances are marked once, each
// reminder distance is sent once (the most urgent when several are due,
// the others recorded), a renewal link is a real single-use form token,
// and moving the clock sends the next distance.
func TestHPSExpiryJob(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		s := newStack(t, db)
		// 23:30 UTC on 9 March is 00:30 on 10 March in Madrid: today is
		// the 10th, so a clearance expiring on the 9th has expired.
		now := time.Date(2026, 3, 9, 23, 30, 0, 0, time.UTC)
		var mu sync.Mutex
		s.clear.SetClock(func() time.Time { mu.Lock(); defer mu.Unlock(); return now })
		setNow := func(t time.Time) { mu.Lock(); now = t; mu.Unlock() }

		users := map[string]*identity.User{}
		for _, n := range []string{"e1", "e2", "r1", "r2", "r3", "p"} {
			users[n] = s.user(n+"-expiry@example.org", "Caducidad-Hps-2026", identity.RoleMember)
		}
		uid := func(n string) *int64 { id := users[n].ID; return &id }
		day := func(offset int) *time.Time { return h4Date(2026, 3, 10+offset) }
		e1 := h4InsertRequest(t, db, h4Req{UserID: uid("e1"), Doc: "11111111H", First: "Elena", Status: "approved", Expires: day(-1)})
		e2 := h4InsertRequest(t, db, h4Req{UserID: uid("e2"), Doc: "22222222J", First: "Eva", Status: "approved", Expires: day(0)})
		r1 := h4InsertRequest(t, db, h4Req{UserID: uid("r1"), Doc: "33333333P", First: "Raúl", Status: "approved", Expires: day(200)})
		r2 := h4InsertRequest(t, db, h4Req{UserID: uid("r2"), Doc: "44444444A", First: "Rosa", Status: "approved", Expires: day(100)})
		r3 := h4InsertRequest(t, db, h4Req{UserID: uid("r3"), Doc: "55555555K", First: "Rita", Status: "approved", Expires: day(300)})
		p := h4InsertRequest(t, db, h4Req{UserID: uid("p"), Doc: "66666666Q", First: "Pablo", Status: "pending", Expires: day(-30)})
		// No account: the reminder goes to the form's address, without link.
		n := h4InsertRequest(t, db, h4Req{Doc: "77777777B", First: "Nora", Status: "approved", Expires: day(20)})

		reminded := func(id string) string {
			t.Helper()
			var days []int
			if err := db.NewRaw("SELECT days FROM hps_reminders WHERE request_id = ? ORDER BY days", id).Scan(ctx, &days); err != nil {
				t.Fatal(err)
			}
			return h4Ints(days)
		}
		run := func(wantExpired, wantReminders int) {
			t.Helper()
			rep, err := s.clear.RunExpiry(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Expired != wantExpired || rep.Reminders != wantReminders {
				t.Errorf("run at %v: %+v, want expired %d reminders %d", now, rep, wantExpired, wantReminders)
			}
		}
		mails := func(template string) int {
			return h4Count(t, db, "SELECT count(*) FROM mail_messages WHERE template = ?", template)
		}

		run(1, 4)
		run(0, 0) // the same day again: nothing twice
		if st, _ := h4Status(t, db, e1); st != "expired" {
			t.Errorf("e1: %s", st)
		}
		for _, id := range []string{e2, r1, r2, r3, n} {
			if st, _ := h4Status(t, db, id); st != "approved" {
				t.Errorf("%s: %s", id, st)
			}
		}
		if st, _ := h4Status(t, db, p); st != "pending" {
			t.Errorf("pending request: %s", st)
		}
		if c := h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE table_name = 'hps_requests' AND record_id = ? AND actor = 'system' AND user_id IS NULL", e1); c != 1 {
			t.Errorf("expiry audit entries: %d", c)
		}
		var body string
		if err := db.NewRaw("SELECT body_text FROM mail_messages WHERE template = 'hps_status' AND to_addr = ?", users["e1"].Email).Scan(ctx, &body); err != nil {
			t.Fatalf("expired mail: %v", err)
		}
		if !strings.Contains(body, "09/03/2026") {
			t.Errorf("expired mail:\n%s", body)
		}
		// Several due at once: only the most urgent goes out, all recorded.
		if got := reminded(e2); got != "30 90 270" {
			t.Errorf("e2 reminders: %q", got)
		}
		if got := reminded(r1) + "|" + reminded(r2) + "|" + reminded(r3) + "|" + reminded(n); got != "270|270||30 90 270" {
			t.Errorf("reminders r1|r2|r3|n: %q", got)
		}
		if c := mails("hps_expiry_reminder"); c != 4 {
			t.Errorf("reminder mails: %d", c)
		}
		var subject string
		if err := db.NewRaw("SELECT subject, body_text FROM mail_messages WHERE template = 'hps_expiry_reminder' AND to_addr = ?", users["e2"].Email).
			Scan(ctx, &subject, &body); err != nil {
			t.Fatal(err)
		}
		if subject != "[URGENTE] Su HPS caduca hoy – 22222222J" {
			t.Errorf("e2 subject %q", subject)
		}
		if err := db.NewRaw("SELECT subject FROM mail_messages WHERE template = 'hps_expiry_reminder' AND to_addr = ?", users["r1"].Email).Scan(ctx, &subject); err != nil {
			t.Fatal(err)
		}
		if subject != "[INFORMATIVO] Su HPS caduca en 200 días – 33333333P" {
			t.Errorf("r1 subject %q", subject)
		}
		if c := h4Count(t, db, "SELECT count(*) FROM mail_messages WHERE template = 'hps_expiry_reminder' AND to_addr = ?", "nora@form.example.org"); c != 1 {
			t.Errorf("reminder to the form address without account: %d", c)
		}

		// The renewal link is a form token: hashed, for the account's
		// e-mail, a renewal, valid 72 h from the (fake) now.
		m := h4TokenInURL.FindStringSubmatch(body)
		if m == nil || !strings.HasPrefix(body[strings.Index(body, "https://"):], "https://thot.example.org/hps-form?token=") {
			t.Fatalf("no renewal link in:\n%s", body)
		}
		sum := sha256.Sum256([]byte(m[1]))
		var tok struct {
			Email       string    `bun:"email"`
			Prefix      string    `bun:"token_prefix"`
			RequestType string    `bun:"request_type"`
			FormType    string    `bun:"form_type"`
			ByID        int64     `bun:"requested_by_id"`
			ExpiresAt   time.Time `bun:"expires_at"`
		}
		if err := db.NewRaw("SELECT email, token_prefix, request_type, form_type, requested_by_id, expires_at FROM hps_tokens WHERE token_hash = ? AND NOT is_used",
			hex.EncodeToString(sum[:])).Scan(ctx, &tok); err != nil {
			t.Fatalf("renewal token not stored by hash: %v", err)
		}
		if tok.Email != users["e2"].Email || tok.Prefix != m[1][:8] || tok.RequestType != "renewal" || tok.FormType != "solicitud" ||
			tok.ByID != users["e2"].ID || !tok.ExpiresAt.Equal(now.Add(72*time.Hour)) {
			t.Errorf("renewal token %+v", tok)
		}
		if c := h4Count(t, db, "SELECT count(*) FROM hps_tokens WHERE purpose = 'renovacion'"); c != 3 {
			t.Errorf("renewal tokens: %d", c)
		}
		if c := h4Count(t, db, "SELECT count(*) FROM hps_tokens WHERE token_hash = ?", m[1]); c != 0 {
			t.Error("a token stored in clear")
		}
		// The public form accepts it as a renewal link for that address.
		r := s.call("GET", "/api/hps/tokens/validate/?token="+m[1]+"&email="+m[2], "", nil)
		if r.status != 200 || !strings.Contains(r.body, `"request_type":"renewal"`) || !strings.Contains(r.body, `"is_valid":true`) {
			t.Errorf("validate the renewal link: %d %s", r.status, r.body)
		}

		// Ten days later: r2 is 90 days out (IMPORTANTE), e2 has expired;
		// nothing else is due. Again the same day: nothing.
		setNow(time.Date(2026, 3, 20, 6, 0, 0, 0, time.UTC))
		run(1, 1)
		run(0, 0)
		if got := reminded(r2); got != "90 270" {
			t.Errorf("r2 reminders: %q", got)
		}
		if st, _ := h4Status(t, db, e2); st != "expired" {
			t.Errorf("e2: %s", st)
		}
		if err := db.NewRaw("SELECT subject FROM mail_messages WHERE template = 'hps_expiry_reminder' AND to_addr = ? ORDER BY created_at DESC LIMIT 1",
			users["r2"].Email).Scan(ctx, &subject); err != nil {
			t.Fatal(err)
		}
		if subject != "[IMPORTANTE] Su HPS caduca en 90 días – 44444444A" {
			t.Errorf("r2 subject %q", subject)
		}
		if c := mails("hps_expiry_reminder"); c != 5 {
			t.Errorf("reminder mails after the second day: %d", c)
		}
		if c := mails("hps_status"); c != 2 {
			t.Errorf("status mails: %d", c)
		}

		// Concurrent runs on a later day still send each reminder once.
		setNow(time.Date(2026, 5, 20, 6, 0, 0, 0, time.UTC))
		var wg sync.WaitGroup
		total := make([]clearance.ExpiryReport, 3)
		for i := range total {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rep, err := s.clear.RunExpiry(ctx)
				if err != nil {
					t.Error(err)
				}
				total[i] = rep
			}()
		}
		wg.Wait()
		sumRem, sumExp := 0, 0
		for _, r := range total {
			sumRem += r.Reminders
			sumExp += r.Expired
		}
		// r2 is 30 days out, r3 270; n expired on 30 March (its status mail
		// goes to the form address: it has no account).
		if sumRem != 2 || sumExp != 1 || reminded(r2) != "30 90 270" || reminded(r3) != "270" || mails("hps_expiry_reminder") != 7 || mails("hps_status") != 3 {
			t.Errorf("concurrent runs: %d reminders and %d expired reported, r2 %q, r3 %q, %d reminder mails, %d status mails",
				sumRem, sumExp, reminded(r2), reminded(r3), mails("hps_expiry_reminder"), mails("hps_status"))
		}
		if st, _ := h4Status(t, db, n); st != "expired" {
			t.Errorf("n: %s", st)
		}
	})
}

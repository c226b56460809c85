package mail

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/riverqueue/river"

	"github.com/thot-security/thot/internal/config"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/jobs"
)

// Environment of the worker child process.
const (
	envHelper      = "THOT_MAIL_HELPER_PROCESS"
	envHelperDB    = "THOT_MAIL_HELPER_DB"
	envHelperPort  = "THOT_MAIL_HELPER_SMTP_PORT"
	envHelperRescu = "THOT_MAIL_HELPER_RESCUE_AFTER"
	envHelperJobTO = "THOT_MAIL_HELPER_JOB_TIMEOUT"
)

// TestHelperMailProcess is not a test: TestKillDuringSendDeliversOnce runs
// the test binary again with this test selected to get a separate worker
// process it can SIGKILL. It works the queues of the SQLite database named
// in the environment until its stdin closes.
func TestHelperMailProcess(t *testing.T) {
	if os.Getenv(envHelper) != "1" {
		t.Skip("worker process for TestKillDuringSendDeliversOnce")
	}
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{SQLitePath: os.Getenv(envHelperDB)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(os.Getenv(envHelperPort))
	cfg := &config.Config{SMTPHost: "127.0.0.1", SMTPPort: port, SMTPTLS: config.TLSNone, SMTPFromEmail: "hps@oficina.example", SMTPTimeout: 5 * time.Second}
	workers := river.NewWorkers()
	if err := Register(workers, WorkerDeps{DB: db, Sender: NewSMTPSender(cfg), SMTPTimeout: cfg.SMTPTimeout}); err != nil {
		t.Fatal(err)
	}
	jc := jobs.Config{Work: true, FetchPollInterval: 100 * time.Millisecond}
	jc.RescueAfter, _ = time.ParseDuration(os.Getenv(envHelperRescu))
	jc.JobTimeout, _ = time.ParseDuration(os.Getenv(envHelperJobTO))
	c, err := jobs.New(db, workers, nil, jc)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // parent closes stdin to stop us
	stop, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.Stop(stop); err != nil {
		t.Fatal(err)
	}
}

// worker is a child process running TestHelperMailProcess.
type worker struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startWorkerProcess(t *testing.T, dbPath string, smtpPort int, rescueAfter, jobTimeout time.Duration) *worker {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperMailProcess$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(),
		envHelper+"=1",
		envHelperDB+"="+dbPath,
		envHelperPort+"="+strconv.Itoa(smtpPort),
		envHelperRescu+"="+rescueAfter.String(),
		envHelperJobTO+"="+jobTimeout.String(),
	)
	w := &worker{cmd: cmd, out: &syncBuffer{}}
	cmd.Stdout, cmd.Stderr = w.out, w.out
	var err error
	if w.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start worker process: %v", err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
		if t.Failed() {
			t.Logf("worker process %d output:\n%s", cmd.Process.Pid, w.out.String())
		}
	})
	return w
}

// TestKillDuringSendDeliversOnce kills the worker process with SIGKILL in
// the middle of an SMTP transaction — after the row was marked 'sending',
// before the relay answered DATA — and checks that a restarted worker
// delivers the message exactly once, through River's rescue of the
// orphaned job.
//
// The relay here does not accept a message whose client vanished before
// the final reply (its Data returns an error once the kill is confirmed),
// which is the case the rescue has to cover. The other case — relay
// accepted, process died before marking 'sent' — produces a duplicate
// with the same Message-ID; see the package documentation.
func TestKillDuringSendDeliversOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts worker processes and waits for River's rescuer (up to a minute)")
	}
	entered := make(chan []byte, 1)
	killed := make(chan struct{})
	srv := startSMTP(t, smtpOptions{OnData: func(call int, body []byte) error {
		if call == 1 {
			entered <- body
			<-killed
			return errTempFailure // never accepted: the client is gone
		}
		return nil
	}})

	dbPath := filepath.Join(t.TempDir(), "thot.db")
	ctx := context.Background()
	db, err := database.Open(ctx, database.Options{SQLitePath: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	// Insert-only client in the test process.
	workers := river.NewWorkers()
	if err := Register(workers, WorkerDeps{DB: db, Sender: NewSMTPSender(smtpConfig(srv))}); err != nil {
		t.Fatal(err)
	}
	inserter, err := jobs.New(db, workers, nil, jobs.Config{})
	if err != nil {
		t.Fatal(err)
	}
	m := NewMailer(inserter)
	if err := enqueue(t, db, m, "ana@example.org", TemplateHPSApproved, sampleData(t, TemplateHPSApproved), "hps-approved:kill"); err != nil {
		t.Fatal(err)
	}

	first := startWorkerProcess(t, dbPath, srv.Port, 0, 0)
	var firstBody []byte
	select {
	case firstBody = <-entered:
	case <-time.After(60 * time.Second):
		t.Fatalf("first worker never reached DATA")
	}
	row := rowByKey(t, db, "hps-approved:kill")
	if row.Status != StatusSending || row.Attempts != 1 {
		t.Fatalf("before the kill: status %q attempts %d, want sending/1", row.Status, row.Attempts)
	}
	if err := first.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = first.cmd.Wait()
	killedAt := time.Now()
	close(killed)

	// RescueAfter 3 s with a 2 s job timeout is accepted as is by jobs.New
	// (it only raises RescueAfter when it is below JobTimeout). The job is
	// rescued once the new process is River leader (the killed one's
	// leadership must expire first, ≤ 15 s), its rescuer ticks (at once,
	// then every 30 s) and the mail worker's own Timeout (2×5 s + 10 s)
	// has passed since the killed attempt began.
	restartAt := time.Now()
	second := startWorkerProcess(t, dbPath, srv.Port, 3*time.Second, 2*time.Second)
	waitFor(t, 90*time.Second, "delivery after restart", func() bool { return len(srv.Delivered()) >= 1 })
	d := srv.Delivered()[0]
	t.Logf("SIGKILL → delivery %s; restart → delivery %s", d.At.Sub(killedAt).Round(time.Millisecond), d.At.Sub(restartAt).Round(time.Millisecond))

	waitFor(t, 10*time.Second, "row marked sent", func() bool { return rowByKey(t, db, "hps-approved:kill").Status == StatusSent })
	time.Sleep(5 * time.Second) // the claim under test is "no second copy": give one the chance to appear
	if n := len(srv.Delivered()); n != 1 {
		t.Fatalf("delivered %d copies, want 1", n)
	}
	row = rowByKey(t, db, "hps-approved:kill")
	if row.Attempts != 2 {
		t.Errorf("attempts = %d, want 2 (killed attempt + rescued attempt)", row.Attempts)
	}
	if js := mailJobs(t, db); len(js) != 1 || js[0].State != "completed" {
		t.Errorf("jobs = %+v, want one completed", js)
	}
	// Both attempts carried the same Message-ID.
	if a, b := parseMail(t, firstBody).MessageID, parseMail(t, d.Data).MessageID; a != b || a != row.MessageID {
		t.Errorf("Message-IDs differ: killed attempt %q, delivered %q, row %q", a, b, row.MessageID)
	}

	_ = second.stdin.Close()
	done := make(chan error, 1)
	go func() { done <- second.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("second worker exited with %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Errorf("second worker did not stop")
	}
}

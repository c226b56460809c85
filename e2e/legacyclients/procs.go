package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// ports are where everything listens. The frontends are built with these
// URLs baked in, so changing a port rebuilds them.
type ports struct {
	thot, cryptotrace, hps, ocr int
}

func defaultPorts() ports { return ports{thot: 18080, cryptotrace: 3000, hps: 3001, ocr: 18002} }

func (p ports) thotAddr() string       { return fmt.Sprintf("127.0.0.1:%d", p.thot) }
func (p ports) ocrAddr() string        { return fmt.Sprintf("127.0.0.1:%d", p.ocr) }
func (p ports) thotURL() string        { return fmt.Sprintf("http://localhost:%d", p.thot) }
func (p ports) ocrURL() string         { return fmt.Sprintf("http://localhost:%d", p.ocr) }
func (p ports) cryptotraceURL() string { return fmt.Sprintf("http://localhost:%d", p.cryptotrace) }
func (p ports) hpsURL() string         { return fmt.Sprintf("http://localhost:%d", p.hps) }

// procGroup owns the child processes of a run. Each runs in its own
// process group so that stopping it also stops what it started (next
// start runs node under npm-less wrappers, go build children…).
type procGroup struct {
	logDir string
	mu     sync.Mutex
	procs  []*proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

// start runs name's command with env added to the environment, output to
// LOGDIR/name.log.
func (g *procGroup) start(name, dir string, env []string, argv ...string) (*proc, error) {
	logf, err := os.OpenFile(filepath.Join(g.logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		_ = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	g.mu.Lock()
	g.procs = append(g.procs, p)
	g.mu.Unlock()
	slog.Info("started", "proc", name, "pid", cmd.Process.Pid, "log", logf.Name())
	return p, nil
}

// stop sends SIGTERM to the process group and SIGKILL after 10 s.
func (g *procGroup) stop(p *proc) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, q := range g.procs {
		if q == p {
			g.procs = append(g.procs[:i], g.procs[i+1:]...)
			break
		}
	}
}

func (g *procGroup) stopAll() {
	g.mu.Lock()
	ps := append([]*proc(nil), g.procs...)
	g.mu.Unlock()
	for i := len(ps) - 1; i >= 0; i-- {
		g.stop(ps[i])
	}
}

// waitHTTP polls url until it answers (any status) or the process exits.
func waitHTTP(ctx context.Context, p *proc, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		if resp, err := client.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-p.done:
			return fmt.Errorf("%s exited before answering (see %s.log)", p.name, p.name)
		case <-time.After(300 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s did not answer %s within %s", p.name, url, limit)
}

// portFree reports an error when something already listens on addr.
func portFree(addr string) error {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("port %s is in use (another thot or frontend running?): %w", addr, err)
	}
	return l.Close()
}

// runCmd runs a build command to completion, output to LOGDIR/name.log.
func runCmd(ctx context.Context, logDir, name, dir string, env []string, argv ...string) error {
	logf, err := os.OpenFile(filepath.Join(logDir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%s failed (%v); see %s", name, err, logf.Name())
		}
		return err
	}
	return nil
}

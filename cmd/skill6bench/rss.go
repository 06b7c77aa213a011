package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/skill6pub/skill6pub/fetch/wolkvoxsim"
)

// childFlag makes the program the child process of measureRSS.
const childFlag = "rss-child"

// rssResult is the peak memory of a process that ran the pipeline over one
// window.
type rssResult struct {
	peakKB       int64
	rows, events int
}

// measureRSS runs, in a child process of this program, the pipeline over the
// window w (and the window before it, whose snapshot it is diffed against)
// with about rows rows each, and returns the child's peak resident set size.
// The simulator and the broker stay in this process, so that the child holds
// only what the service would: the pipeline, its state and its buffers.
func measureRSS(ctx context.Context, h *harness, w time.Time, rows int) (rssResult, error) {
	h.sim.Update(func(c *wolkvoxsim.Config) { c.CallersPerWindow = float64(rows) })
	exe, err := os.Executable()
	if err != nil {
		return rssResult{}, err
	}
	cmd := exec.CommandContext(ctx, exe, "-"+childFlag, "-sim-url", h.simURL,
		"-brokers", strings.Join(h.brokers, ","), "-window", w.Format(time.RFC3339))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return rssResult{}, fmt.Errorf("child process: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	var r rssResult
	if _, err := fmt.Sscan(string(out), &r.peakKB, &r.rows, &r.events); err != nil {
		return rssResult{}, fmt.Errorf("child process printed %q: %w", out, err)
	}
	return r, nil
}

// runChild is the child process: one window through the pipeline, then the
// peak RSS, rows and events on stdout.
func runChild(ctx context.Context, simURL, brokers string, window time.Time, stdout io.Writer) error {
	res, err := measureWindow(ctx, simURL, strings.Split(brokers, ","), window, false)
	if err != nil {
		return err
	}
	kb, err := peakRSS()
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, kb, res.rows, res.events)
	return err
}

// peakRSS returns the process's peak resident set size in KiB (VmHWM).
func peakRSS() (int64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, fmt.Errorf("peak RSS is read from /proc (Linux only): %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no VmHWM in /proc/self/status")
}

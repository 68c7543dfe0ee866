package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
)

// debianRoot is where Debian and Ubuntu install one directory per major
// version; the server programs are not on PATH there.
const debianRoot = "/usr/lib/postgresql"

// runner runs the PostgreSQL programs, as the postgres system user when we
// are root, because the server refuses to run as root.
type runner struct {
	bin      string // directory holding initdb, pg_ctl and postgres
	workDir  string // a directory the postgres user can enter
	asPG     bool
	uid, gid int
}

func newRunner(dir, dataDir string) (*runner, error) {
	bin, err := findBinDir(dataDir)
	if err != nil {
		return nil, err
	}
	r := &runner{bin: bin, workDir: dir}
	if os.Geteuid() != 0 {
		return r, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root needs the postgres system user to run the server: %w", err)
	}
	r.asPG = true
	r.uid, _ = strconv.Atoi(u.Uid)
	r.gid, _ = strconv.Atoi(u.Gid)
	if _, err := exec.LookPath("runuser"); err != nil {
		return nil, fmt.Errorf("pgcluster: running as root needs runuser (util-linux): %w", err)
	}
	// Checked here because initdb would only say "Permission denied". The
	// usual case is a clone under /root (mode 0700): name the directory in
	// the way and every way out.
	if blocked := r.firstClosed(dir); blocked != "" {
		mode := "?"
		if fi, err := os.Stat(blocked); err == nil {
			mode = fmt.Sprintf("%04o", fi.Mode().Perm())
		}
		return nil, fmt.Errorf("pgcluster: PostgreSQL runs as the postgres user, who cannot enter %s (mode %s) to reach %s. "+
			"Either let it through (chmod o+x %s), or keep the data elsewhere (DATA_DIR=/var/lib/im2pay), "+
			"or use a PostgreSQL server of your own (DATABASE_URL=postgres://...)", blocked, mode, dir, blocked)
	}
	return r, nil
}

// firstClosed is the first directory on the way to dir (dir included) that
// the postgres user cannot enter, "" when it can reach dir.
func (r *runner) firstClosed(dir string) string {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return dir
	}
	if r.cmd(context.Background(), "test", "-x", abs).Run() == nil {
		return ""
	}
	path := string(filepath.Separator)
	for _, part := range strings.Split(strings.Trim(abs, string(filepath.Separator)), string(filepath.Separator)) {
		path = filepath.Join(path, part)
		if r.cmd(context.Background(), "test", "-x", path).Run() != nil {
			return path
		}
	}
	return abs
}

// findBinDir prefers the version that created an existing cluster (a newer
// server cannot open it), then the highest version installed, then PATH.
func findBinDir(dataDir string) (string, error) {
	if v, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION")); err == nil {
		d := filepath.Join(debianRoot, strings.TrimSpace(string(v)), "bin")
		if isFile(filepath.Join(d, "initdb")) {
			return d, nil
		}
	}
	matches, _ := filepath.Glob(filepath.Join(debianRoot, "*", "bin", "initdb"))
	best, bestVersion := "", -1
	for _, m := range matches {
		d := filepath.Dir(m)
		v, err := strconv.Atoi(filepath.Base(filepath.Dir(d)))
		if err == nil && v > bestVersion && isFile(filepath.Join(d, "pg_ctl")) {
			best, bestVersion = d, v
		}
	}
	if best != "" {
		return best, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		d := filepath.Dir(p)
		if isFile(filepath.Join(d, "initdb")) && isFile(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("pgcluster: PostgreSQL server programs (initdb, pg_ctl, postgres) not found in " +
		debianRoot + "/*/bin or PATH: run `make deps`")
}

func isFile(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular()
}

// pg is the path of one of the server programs.
func (r *runner) pg(name string) string { return filepath.Join(r.bin, name) }

// cmd prepares a command to run as the server's user.
func (r *runner) cmd(ctx context.Context, name string, args ...string) *exec.Cmd {
	var c *exec.Cmd
	if r.asPG {
		c = exec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	} else {
		c = exec.CommandContext(ctx, name, args...)
	}
	c.Dir = r.workDir
	// English messages, so failures read the same everywhere and the locale
	// fallback can recognise its cue; the cluster's own locale is set by flags.
	c.Env = append(os.Environ(), "LC_ALL=C")
	return c
}

func (r *runner) pgctl(ctx context.Context, args ...string) ([]byte, error) {
	return r.cmd(ctx, r.pg("pg_ctl"), args...).CombinedOutput()
}

// running reports whether pg_ctl finds a live server for dataDir.
func (r *runner) running(ctx context.Context, dataDir string) (bool, error) {
	out, err := r.pgctl(ctx, "status", "-D", dataDir)
	if err == nil {
		return true, nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 3 { // 3: no server running
		return false, nil
	}
	return false, fmt.Errorf("pgcluster: pg_ctl status -D %s: %w: %s", dataDir, err, strings.TrimSpace(string(out)))
}

// chown gives path to the server's user when we run as root.
func (r *runner) chown(path string) error {
	if !r.asPG {
		return nil
	}
	if err := os.Chown(path, r.uid, r.gid); err != nil {
		return fmt.Errorf("pgcluster: %w", err)
	}
	return nil
}

// pidFileField returns line n (0-based) of postmaster.pid: 0 is the PID,
// 3 the port.
func pidFileField(dataDir string, n int) (string, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return "", err
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) <= n {
		return "", fmt.Errorf("pgcluster: postmaster.pid has no line %d", n+1)
	}
	return strings.TrimSpace(lines[n]), nil
}

func pidFilePort(dataDir string) (int, error) {
	s, err := pidFileField(dataDir, 3)
	if err != nil {
		return 0, fmt.Errorf("pgcluster: port of running cluster: %w", err)
	}
	return strconv.Atoi(s)
}

// clearStalePid removes a postmaster.pid whose PID is a zombie or another
// program (PIDs are reused after a reboot): pg_ctl and postgres would both
// take the cluster for running. A dead PID needs nothing: postgres handles it.
func clearStalePid(dataDir string, log io.Writer) {
	s, err := pidFileField(dataDir, 0)
	if err != nil {
		return
	}
	stat, err := os.ReadFile("/proc/" + s + "/stat")
	if err != nil {
		return
	}
	// "PID (COMM) STATE ...": COMM may hold spaces, so cut at the last ')'.
	line := string(stat)
	open, end := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	if open < 0 || end < open {
		return
	}
	comm, rest := line[open+1:end], strings.Fields(line[end+1:])
	if (comm == "postgres" || comm == "postmaster") && len(rest) > 0 && rest[0] != "Z" {
		return
	}
	fmt.Fprintf(log, "pgcluster: removing stale postmaster.pid (PID %s is now %q)\n", s, comm)
	os.Remove(filepath.Join(dataDir, "postmaster.pid"))
}

package dbtest

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"im2pay/db/pgcluster"
)

// dirPrefix names throwaway cluster directories under os.TempDir().
const dirPrefix = "im2pay-dbtest-"

// startCluster starts a Fast cluster in a new directory under os.TempDir().
func startCluster() (string, error) {
	sweep()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return "", err
	}
	// MkdirTemp makes it 0700; the postgres user (when we are root) must
	// be able to pass through it to the data directory.
	if err := os.Chmod(dir, 0o755); err != nil {
		return "", err
	}
	owner := []byte(strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(filepath.Join(dir, "owner"), owner, 0o644); err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cluster, err = pgcluster.Start(ctx, pgcluster.Options{Dir: filepath.Join(dir, "pg"), Fast: true})
	if err != nil {
		os.RemoveAll(dir)
		return "", err
	}
	base, err = url.Parse(cluster.URL())
	return dir, err
}

func stopCluster(dir string) error {
	err := errors.Join(stopStandby(), cluster.Stop())
	if err != nil {
		// Make sure no server outlives the tests, even without a checkpoint.
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		pgcluster.Destroy(ctx, filepath.Join(dir, "pg"))
	}
	return errors.Join(err, os.RemoveAll(dir))
}

// sweep destroys clusters of test processes that died without tearing them
// down (a panic or a -timeout kill skips Main's cleanup), so that such
// servers do not pile up.
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, dir := range dirs {
		b, err := os.ReadFile(filepath.Join(dir, "owner"))
		if err != nil {
			continue // being set up right now, or not ours
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		standbyErr := pgcluster.Destroy(ctx, filepath.Join(dir, "standby"))
		if pgcluster.Destroy(ctx, filepath.Join(dir, "pg")) == nil && standbyErr == nil {
			os.RemoveAll(dir)
		}
		cancel()
	}
}

func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

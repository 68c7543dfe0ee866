// Package deploy_test keeps the deployment files true without a container
// runtime: the Dockerfile and the compose file parse and name only files
// that exist, the systemd unit keeps its hardening, and the alert rules and
// the dashboard ask only for series the service exports.
package deploy_test

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"io"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	_ "github.com/lib/pq"
	"go.yaml.in/yaml/v3"

	"im2pay/metrics"
)

// instruction is one Dockerfile instruction with its continuation lines.
type instruction struct {
	op, args string
	line     int
}

func dockerfile(t *testing.T, path string) []instruction {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []instruction
	var cur *instruction
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if cur == nil && (line == "" || strings.HasPrefix(line, "#")) {
			continue
		}
		if cur == nil {
			op, args, _ := strings.Cut(line, " ")
			cur = &instruction{op: strings.ToUpper(op), line: n}
			line = args
		}
		cont := strings.HasSuffix(line, "\\")
		cur.args += " " + strings.TrimSpace(strings.TrimSuffix(line, "\\"))
		if !cont {
			cur.args = strings.TrimSpace(cur.args)
			out = append(out, *cur)
			cur = nil
		}
	}
	if cur != nil {
		t.Fatalf("%s: unfinished continuation at line %d", path, cur.line)
	}
	return out
}

func TestTheDockerfileBuildsFromFilesThatExistAndRunsAsNobody(t *testing.T) {
	known := map[string]bool{"FROM": true, "WORKDIR": true, "COPY": true, "RUN": true, "USER": true, "ENV": true,
		"VOLUME": true, "EXPOSE": true, "ENTRYPOINT": true, "CMD": true, "ARG": true, "LABEL": true}
	stages := map[string]bool{}
	var user, entry string
	var copiedTo []string
	for _, in := range dockerfile(t, "../Dockerfile") {
		if !known[in.op] {
			t.Errorf("line %d: unknown instruction %s", in.line, in.op)
		}
		fields := strings.Fields(in.args)
		switch in.op {
		case "FROM":
			stage := ""
			if len(fields) == 3 && strings.EqualFold(fields[1], "AS") {
				stage = fields[2]
			} else if len(fields) != 1 {
				t.Errorf("line %d: FROM %s", in.line, in.args)
			}
			stages[stage] = true
			user = "" // each stage starts as root
		case "COPY":
			from := ""
			if strings.HasPrefix(fields[0], "--from=") {
				from, fields = strings.TrimPrefix(fields[0], "--from="), fields[1:]
				if !stages[from] {
					t.Errorf("line %d: COPY from unknown stage %q", in.line, from)
				}
			}
			if len(fields) < 2 {
				t.Fatalf("line %d: COPY needs a source and a destination", in.line)
			}
			if from == "" {
				for _, src := range fields[:len(fields)-1] {
					if _, err := os.Stat(filepath.Join("..", src)); err != nil {
						t.Errorf("line %d: COPY source %s: %v", in.line, src, err)
					}
				}
			}
			copiedTo = append(copiedTo, fields[len(fields)-1])
		case "RUN":
			for _, m := range regexp.MustCompile(`\./cmd/[a-z0-9]+`).FindAllString(in.args, -1) {
				if _, err := os.Stat(filepath.Join("..", m, "main.go")); err != nil {
					t.Errorf("line %d: builds %s, which has no main.go", in.line, m)
				}
			}
		case "USER":
			user = in.args
		case "ENTRYPOINT":
			var argv []string
			if err := json.Unmarshal([]byte(in.args), &argv); err != nil || len(argv) == 0 {
				t.Errorf("line %d: ENTRYPOINT must be an exec-form list (no shell runs it): %s", in.line, in.args)
			} else {
				entry = argv[0]
			}
		}
	}
	if user == "" || user == "root" || strings.HasPrefix(user, "0") {
		t.Errorf("the image runs as %q, want a non-root user", user)
	}
	found := false
	for _, dst := range copiedTo {
		found = found || dst == entry
	}
	if !found {
		t.Errorf("ENTRYPOINT %s is not a file the Dockerfile copies", entry)
	}
}

func TestTheComposeFileNamesOnlyFilesThatExist(t *testing.T) {
	raw, err := os.ReadFile("compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Services map[string]struct {
			Image string `yaml:"image"`
			Build *struct {
				Context    string `yaml:"context"`
				Dockerfile string `yaml:"dockerfile"`
			} `yaml:"build"`
			Volumes   []string       `yaml:"volumes"`
			DependsOn any            `yaml:"depends_on"`
			Env       map[string]any `yaml:"environment"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(raw)))
	dec.KnownFields(false)
	if err := dec.Decode(&c); err != nil {
		t.Fatalf("compose.yaml does not parse: %v", err)
	}
	for _, want := range []string{"db", "app", "prometheus"} {
		if _, ok := c.Services[want]; !ok {
			t.Errorf("no %s service", want)
		}
	}
	for name, s := range c.Services {
		if (s.Image == "") == (s.Build == nil) {
			t.Errorf("service %s needs exactly one of image and build", name)
		}
		if s.Build != nil {
			if _, err := os.Stat(filepath.Join(s.Build.Context, s.Build.Dockerfile)); err != nil {
				t.Errorf("service %s builds from %v", name, err)
			}
		}
		for _, v := range s.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if _, err := os.Stat(src); err != nil {
					t.Errorf("service %s mounts %v", name, err)
				}
			} else if _, ok := c.Volumes[src]; !ok {
				t.Errorf("service %s mounts volume %q, which is not declared", name, src)
			}
		}
	}
	// The app's settings are ones it reads.
	for name := range c.Services["app"].Env {
		if !settingKnown(t, name) {
			t.Errorf("the app service sets %s, which im2pay does not read", name)
		}
	}
}

// settingKnown looks the variable up in the README's configuration table,
// which a test of cmd/im2pay keeps equal to what the program reads.
func settingKnown(t *testing.T, name string) bool {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	return strings.Contains(string(readme), "| `"+name+"` |")
}

func TestTheSystemdUnitKeepsItsHardening(t *testing.T) {
	raw, err := os.ReadFile("im2pay.service")
	if err != nil {
		t.Fatal(err)
	}
	unit := string(raw)
	for _, want := range []string{"ExecStart=/usr/local/bin/im2pay serve", "DynamicUser=yes", "NoNewPrivileges=yes",
		"ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "CapabilityBoundingSet=\n",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service", "MemoryDenyWriteExecute=yes"} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %q", strings.TrimSpace(want))
		}
	}
}

// exported scrapes a registry in which every series has been touched once,
// as a running service's would be.
func exported(t *testing.T) string {
	t.Helper()
	conn, err := sql.Open("postgres", "postgres://nobody@127.0.0.1:1/none")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	m := metrics.New(conn)
	m.Request("/account", "GET", 200, time.Millisecond)
	m.TopUp("alipay", "paid")
	m.Notification("alipay", "refused")
	m.ReconcilePass(1, time.Second, nil)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	return string(body)
}

// seriesIn lists the metric names an expression asks for.
func seriesIn(expr string) []string {
	return regexp.MustCompile(`\b(?:im2pay|go_sql|go|process)_[a-z_]+\b`).FindAllString(expr, -1)
}

func TestAlertsAndTheDashboardAskOnlyForExportedSeries(t *testing.T) {
	have := exported(t)
	check := func(where, expr string) {
		names := seriesIn(expr)
		if len(names) == 0 {
			t.Errorf("%s: no series in %q", where, expr)
		}
		for _, name := range names {
			if !regexp.MustCompile(`(?m)^` + name + `[{ ]`).MatchString(have) {
				t.Errorf("%s asks for %s, which the service does not export", where, name)
			}
		}
	}
	raw, err := os.ReadFile("alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(raw, &rules); err != nil {
		t.Fatalf("alerts.yml does not parse: %v", err)
	}
	n := 0
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			n++
			check("alert "+r.Alert, r.Expr)
		}
	}
	if n < 4 {
		t.Errorf("%d alert rules, want at least 5xx, refusals, reconciler lag and pool exhaustion", n)
	}
	raw, err = os.ReadFile("grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(raw, &dash); err != nil {
		t.Fatalf("the dashboard does not parse: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			check("panel "+p.Title, tg.Expr)
		}
	}
}

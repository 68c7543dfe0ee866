package reqlog

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
)

func TestEveryLineOfARequestCarriesItsID(t *testing.T) {
	var buf bytes.Buffer
	log := New(&buf, "json").With("component", "test")
	ctx := WithID(context.Background(), "req-42")
	log.InfoContext(ctx, "inside", "n", 1)
	log.WarnContext(context.Background(), "outside")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines: %q", len(lines), buf.String())
	}
	var in, out map[string]any
	if err := json.Unmarshal([]byte(lines[0]), &in); err != nil {
		t.Fatalf("not JSON: %q", lines[0])
	}
	if err := json.Unmarshal([]byte(lines[1]), &out); err != nil {
		t.Fatalf("not JSON: %q", lines[1])
	}
	if in["request_id"] != "req-42" || in["component"] != "test" || in["msg"] != "inside" {
		t.Errorf("request line: %v", in)
	}
	if _, ok := out["request_id"]; ok {
		t.Errorf("a line outside any request has a request id: %v", out)
	}
}

func TestTextIsTheDefault(t *testing.T) {
	var buf bytes.Buffer
	New(&buf, "").InfoContext(WithID(context.Background(), "abc"), "hello")
	if got := buf.String(); !strings.Contains(got, "msg=hello") || !strings.Contains(got, "request_id=abc") {
		t.Fatalf("text line: %q", got)
	}
}

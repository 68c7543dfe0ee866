package chaos

import (
	"net/http/httptest"
	"testing"

	toxiproxy "github.com/Shopify/toxiproxy/v2"
	toxiclient "github.com/Shopify/toxiproxy/v2/client"
	"github.com/rs/zerolog"
)

// toxi is a Toxiproxy server run by the test itself, driven through its
// own HTTP API with its client package.
type toxi struct {
	client  *toxiclient.Client
	proxies map[string]*toxiclient.Proxy
}

func startToxi(t *testing.T) *toxi {
	t.Helper()
	srv := toxiproxy.NewServer(toxiproxy.NewMetricsContainer(nil), zerolog.Nop())
	api := httptest.NewServer(srv.Routes())
	t.Cleanup(func() {
		_ = srv.Collection.Clear()
		api.Close()
	})
	return &toxi{client: toxiclient.NewClient(api.URL), proxies: map[string]*toxiclient.Proxy{}}
}

// proxy starts a proxy in front of upstream and returns its address.
func (x *toxi) proxy(t *testing.T, name, upstream string) string {
	t.Helper()
	p, err := x.client.CreateProxy(name, "127.0.0.1:0", upstream)
	if err != nil {
		t.Fatalf("toxiproxy: create %s: %v", name, err)
	}
	x.proxies[name] = p
	return p.Listen
}

// add puts a toxic on a proxy; toxicity is the share of connections hit.
func (x *toxi) add(t *testing.T, proxy, name, kind, stream string, toxicity float32, attrs map[string]any) {
	t.Helper()
	if _, err := x.proxies[proxy].AddToxic(name, kind, stream, toxicity, toxiclient.Attributes(attrs)); err != nil {
		t.Fatalf("toxiproxy: add %s to %s: %v", name, proxy, err)
	}
}

func (x *toxi) remove(t *testing.T, proxy, name string) {
	t.Helper()
	if err := x.proxies[proxy].RemoveToxic(name); err != nil {
		t.Fatalf("toxiproxy: remove %s from %s: %v", name, proxy, err)
	}
}

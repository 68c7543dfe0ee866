package db

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// OpenBounded is Open with every wait for the server bounded by readTimeout
// (0: unbounded). A cancelled context does not stop lib/pq waiting for an
// answer: it sends PostgreSQL a cancel request over a new connection and
// keeps reading, so a server that is paused, or a network that drops
// packets without a reset, holds the request and its pool connection
// forever. The deadline closes such a connection instead; the pool then
// discards it and dials afresh.
func OpenBounded(ctx context.Context, url string, maxConns int, readTimeout time.Duration) (*sqlx.DB, error) {
	connector, err := pq.NewConnector(WithAppSettings(url))
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	if readTimeout > 0 {
		connector.Dialer(boundedDialer{timeout: readTimeout})
	}
	conn := sqlx.NewDb(sql.OpenDB(connector), "postgres")
	conn.SetMaxOpenConns(maxConns)
	conn.SetMaxIdleConns(maxConns)
	conn.SetConnMaxIdleTime(5 * time.Minute)
	pingCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := conn.PingContext(pingCtx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("reach database: %w", err)
	}
	return conn, nil
}

// boundedDialer dials like lib/pq's default dialer and wraps the
// connection so that each read waits at most timeout.
type boundedDialer struct{ timeout time.Duration }

func (d boundedDialer) Dial(network, address string) (net.Conn, error) {
	return d.DialContext(context.Background(), network, address)
}

func (d boundedDialer) DialTimeout(network, address string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return d.DialContext(ctx, network, address)
}

func (d boundedDialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, address)
	if err != nil {
		return nil, err
	}
	return boundedConn{Conn: c, timeout: d.timeout}, nil
}

// boundedConn sets a fresh deadline before every read. lib/pq reads only
// while it awaits an answer, never on an idle pooled connection, so the
// deadline bounds the wait for one answer, not the connection's life.
type boundedConn struct {
	net.Conn
	timeout time.Duration
}

func (c boundedConn) Read(b []byte) (int, error) {
	if err := c.Conn.SetReadDeadline(time.Now().Add(c.timeout)); err != nil {
		return 0, err
	}
	return c.Conn.Read(b)
}

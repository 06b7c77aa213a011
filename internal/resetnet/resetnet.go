// Package resetnet is a listener for tests that closes every connection it
// accepted on demand, as a load balancer or a broker restart does: wrapped
// around kfake's listener with kfake.ListenFn, it resets the producer's
// connections between writes.
package resetnet

import (
	"net"
	"sync"
)

// Listener remembers the connections it accepted.
type Listener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

// Wrap wraps l.
func Wrap(l net.Listener) *Listener { return &Listener{Listener: l} }

// Accept accepts a connection and remembers it.
func (l *Listener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err == nil {
		l.mu.Lock()
		l.conns = append(l.conns, conn)
		l.mu.Unlock()
	}
	return conn, err
}

// CloseAll closes every connection accepted so far.
func (l *Listener) CloseAll() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		_ = c.Close()
	}
	l.conns = nil
}

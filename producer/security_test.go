package producer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/skill6pub/skill6pub/internal/syncbuf"

	"github.com/rs/zerolog"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/skill6pub/skill6pub/producer"
	"github.com/skill6pub/skill6pub/schema"
	"github.com/skill6pub/skill6pub/secret"
)

// Case 15: SASL with good and bad credentials. The password never appears
// in an error or a log line, whatever happens.
func TestSASL(t *testing.T) {
	t.Parallel()
	const user = "skill6pub"
	for mechanism, readAs := range map[string]kgo.Opt{
		"PLAIN":         kgo.SASL(plain.Auth{User: user, Pass: testPassword}.AsMechanism()),
		"SCRAM-SHA-512": kgo.SASL(scram.Auth{User: user, Pass: testPassword}.AsSha512Mechanism()),
	} {
		t.Run(mechanism, func(t *testing.T) {
			t.Parallel()
			c := newCluster(t, kfake.EnableSASL(), kfake.Superuser(mechanism, user, testPassword))
			var logs syncbuf.Buffer
			logger := producer.WithLogger(zerolog.New(&logs).Level(zerolog.DebugLevel))
			ctx := context.Background()

			cfg := testConfig(c)
			cfg.SASLMechanism, cfg.SASLUsername, cfg.SASLPassword = mechanism, user, secret.New(testPassword)
			good := newProducer(t, cfg, logger)
			if err := good.Bootstrap(ctx); err != nil {
				t.Fatalf("bootstrap with good credentials: %v", err)
			}
			events := window(0, 20)
			publish(t, good, events)
			if err := good.Ready(ctx); err != nil {
				t.Errorf("ready with good credentials: %v", err)
			}
			checkAllStored(t, readBack(t, c, topic, readAs), events)

			wrongPassword := "wrong-" + testPassword
			cfg.SASLPassword = secret.New(wrongPassword)
			bad := newProducer(t, cfg, logger)
			errs := map[string]error{
				"bootstrap": bad.Bootstrap(ctx),
				"ready":     bad.Ready(ctx),
				"publish":   bad.Publish(ctx, schema.EventSlice(window(1, 5)), nil),
			}
			for op, err := range errs {
				if !errors.Is(err, producer.ErrAuthentication) {
					t.Errorf("%s with a wrong password: %v, want ErrAuthentication", op, err)
					continue
				}
				if msg := err.Error(); !strings.Contains(msg, `user "skill6pub"`) || !strings.Contains(msg, mechanism) {
					t.Errorf("%s: %q does not name the user and the mechanism", op, msg)
				}
			}
			for op, err := range errs {
				if err != nil && strings.Contains(err.Error(), testPassword) {
					t.Errorf("%s error shows the password: %v", op, err)
				}
			}
			if strings.Contains(logs.String(), testPassword) {
				t.Errorf("logs show the password: %s", logs.String())
			}
			if n := storedCount(c, topic); n != int64(len(events)) {
				t.Errorf("%d records stored, want only the %d of the good producer", n, len(events))
			}
		})
	}
}

// certificates makes a CA and a certificate for 127.0.0.1 signed by it, and
// writes the CA to a PEM file.
func certificates(t *testing.T) (server tls.Certificate, caFile string, caPool *x509.CertPool) {
	t.Helper()
	newKey := func() *ecdsa.PrivateKey {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return key
	}
	caKey, leafKey := newKey(), newKey()
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "skill6pub test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "kafka"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"kafka.test"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	caPool = x509.NewCertPool()
	caPool.AddCert(caCert)
	return tls.Certificate{Certificate: [][]byte{leafDER}, PrivateKey: leafKey}, caFile, caPool
}

// Case 15: TLS with a certificate made in the test; the wrong trust or a
// plaintext client gets an error that says what to check.
func TestTLS(t *testing.T) {
	t.Parallel()
	server, caFile, caPool := certificates(t)
	c := newCluster(t, kfake.TLS(&tls.Config{Certificates: []tls.Certificate{server}, MinVersion: tls.VersionTLS12}))
	ctx := context.Background()

	cfg := testConfig(c)
	cfg.TLSEnabled, cfg.TLSCAFile = true, caFile
	p := newProducer(t, cfg)
	if err := p.Bootstrap(ctx); err != nil {
		t.Fatalf("bootstrap over TLS: %v", err)
	}
	events := window(0, 20)
	publish(t, p, events)
	checkAllStored(t, readBack(t, c, topic, kgo.DialTLSConfig(&tls.Config{RootCAs: caPool, MinVersion: tls.VersionTLS12})), events)

	for name, tc := range map[string]struct {
		change func(*producer.Config)
		kind   error
		says   string
	}{
		"system roots only": {func(c *producer.Config) { c.TLSCAFile = "" }, producer.ErrTLS, "KAFKA_TLS_CA_FILE"},
		"wrong server name": {func(c *producer.Config) { c.TLSServerName = "other.test" }, producer.ErrTLS, "KAFKA_TLS_SERVER_NAME"},
		"plaintext client":  {func(c *producer.Config) { c.TLSEnabled, c.TLSCAFile = false, "" }, nil, "KAFKA_TLS_ENABLED"},
	} {
		cfg := cfg
		tc.change(&cfg)
		err := newProducer(t, cfg).Ready(ctx)
		if err == nil || (tc.kind != nil && !errors.Is(err, tc.kind)) || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: ready returned %v, want an error that says %s", name, err, tc.says)
		}
	}
}

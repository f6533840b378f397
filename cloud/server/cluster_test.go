package server_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/vinr/cashlessd/cloud/faketerm"
	"github.com/vinr/cashlessd/cloud/fiuu"
	"github.com/vinr/cashlessd/cloud/server"
)

// ledger is a fake terminal that charges each reference at most once (as
// the real engine does) and counts the charges.
type ledger struct {
	mu      sync.Mutex
	charged map[string]int
	ids     map[string]string
}

func newLedger() *ledger { return &ledger{charged: map[string]int{}, ids: map[string]string{}} }

func (l *ledger) handle(endpoint string, body []byte) (int, []byte) {
	var req map[string]any
	_ = json.Unmarshal(body, &req)
	ref, _ := req["reference"].(string)
	l.mu.Lock()
	defer l.mu.Unlock()
	answer := func(v any) (int, []byte) {
		b, _ := json.Marshal(v)
		return 200, b
	}
	switch endpoint {
	case "status":
		return answer(map[string]any{"status": "ready", "openBatch": map[string]any{"currency": "USD"}})
	case "sale":
		id, seen := l.ids[ref]
		if !seen {
			id = fmt.Sprintf("tx-%s", ref)
			l.ids[ref] = id
			l.charged[ref]++
		}
		return answer(map[string]any{"status": "approved", "reference": ref, "transactionId": id, "amount": req["amount"], "currency": "USD"})
	case "transaction":
		if id, seen := l.ids[ref]; seen {
			return answer(map[string]any{"status": "approved", "reference": ref, "transactionId": id, "type": "sale", "amount": 100, "currency": "USD"})
		}
		b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": "transaction_not_found", "message": "none"}})
		return 404, b
	}
	return 404, []byte(`{"error":{"code":"not_found","message":"no"}}`)
}

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Three relays joined as a 3-node NATS cluster, terminals on different
// nodes, ECR calls spread across relays; one node is stopped mid-traffic.
// Terminals reconnect, and every sale ends approved, charged exactly once.
func TestClusterSurvivesANodeMidTraffic(t *testing.T) {
	t.Parallel()
	keyFile := filepath.Join(t.TempDir(), "relay.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(make([]byte, 32))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clusterAddrs := []string{freeAddr(t), freeAddr(t), freeAddr(t)}
	relays := make([]*server.Process, 3)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range relays {
		var routes []string
		for j, a := range clusterAddrs {
			if j != i {
				routes = append(routes, "nats-route://"+a)
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			relays[i], errs[i] = server.Start(t.Context(), server.Config{Listen: "127.0.0.1:0", DataDir: t.TempDir(),
				NATSListen: "127.0.0.1:0", NATSName: fmt.Sprintf("node%d", i+1), ClusterName: "cashless-test",
				ClusterListen: clusterAddrs[i], Routes: routes, Replicas: 3, RelayKeyFile: keyFile,
				Simulator: true, TransferWait: 20 * time.Second, Log: zerolog.Nop(), NATSLogs: os.Getenv("CLUSTER_NATS_LOG") != ""})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("relay %d: %v", i+1, err)
		}
		t.Cleanup(relays[i].Close)
	}
	var urls, cas []string
	for _, p := range relays {
		urls = append(urls, natsURL(p))
		cas = append(cas, p.CAFile)
	}
	// Terminal i connects to node i first, and knows the others.
	ledgers := make([]*ledger, 3)
	for i := range 3 {
		ledgers[i] = newLedger()
		order := append([]string{urls[i]}, append(append([]string{}, urls[:i]...), urls[i+1:]...)...)
		ft, err := faketerm.Connect(fmt.Sprintf("term_CL_%d", i+1), faketerm.Options{URL: strings.Join(order, ","), CAFile: strings.Join(cas, ","),
			Simulator: true, Handler: ledgers[i].handle})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(ft.Close)
		for _, p := range relays {
			waitConnected(t, p, ft.ID)
		}
	}
	ecrs := make([]*ecr, 3)
	for i, p := range relays {
		ecrs[i] = newECR(t, p, "127.0.0.1")
		ecrs[i].login(simPos, simPw)
	}

	const workers, perWorker = 6, 10
	var killed sync.Once
	var mu sync.Mutex
	final := map[string]string{}
	var work sync.WaitGroup
	for w := range workers {
		work.Add(1)
		go func() {
			defer work.Done()
			for n := range perWorker {
				ref := fmt.Sprintf("W%dN%d", w, n)
				device := fmt.Sprintf("term_CL_%d", (w+n)%3+1)
				if w == 0 && n == perWorker/2 {
					killed.Do(func() { relays[1].Close() })
				}
				for try := 0; ; try++ {
					e := ecrs[(w+n+try)%3]
					if e == ecrs[1] && relaysDown(relays[1]) {
						continue
					}
					status, m, err := tryTransfer(e, sale(device, ref, "1.00"))
					if err == nil && status == 200 && m["statusCode"] == "00" {
						mu.Lock()
						final[ref] = m["transData"].(map[string]any)["transId"].(string)
						mu.Unlock()
						break
					}
					if try > 50 {
						t.Errorf("%s never approved: %d %v %v", ref, status, m, err)
						return
					}
					time.Sleep(200 * time.Millisecond)
				}
			}
		}()
	}
	work.Wait()
	if len(final) != workers*perWorker {
		t.Fatalf("%d of %d sales approved", len(final), workers*perWorker)
	}
	charges := 0
	for _, l := range ledgers {
		l.mu.Lock()
		for ref, n := range l.charged {
			if n != 1 {
				t.Errorf("%s charged %d times", ref, n)
			}
			if final[ref] != l.ids[ref] {
				t.Errorf("%s: the ECR got %s, the terminal booked %s", ref, final[ref], l.ids[ref])
			}
			charges += n
		}
		l.mu.Unlock()
	}
	if charges != workers*perWorker {
		t.Fatalf("%d charges for %d sales", charges, workers*perWorker)
	}
}

func relaysDown(p *server.Process) bool { return p.Closed() }

// tryTransfer is transfer without failing the test on a network error (a
// relay that was stopped).
func tryTransfer(e *ecr, body map[string]any) (int, map[string]any, error) {
	body["datetime"] = time.Now().UTC().Format("20060102150405")
	body["apiVersion"] = "v1"
	body["signature"] = fiuu.Sign(body, []byte(simSecret))
	b, _ := json.Marshal(body)
	req, err := http.NewRequest("POST", e.base+"/api/transfer", bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+e.token)
	resp, err := e.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	err = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, err
}

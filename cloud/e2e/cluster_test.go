package e2e

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vinr/cashlessd/cloud/fiuu"
	"github.com/vinr/cashlessd/cloud/server"
	"github.com/vinr/cashlessd/daemon/host/hostsim"
)

// relayProcess is a `cashless-cloud serve` process, one node of a NATS
// cluster.
type relayProcess struct {
	name, base, natsURL, caFile string
	cmd                         *exec.Cmd
	out                         *bytes.Buffer
	done                        chan struct{}
}

// startRelay starts node i of a cluster whose nodes route on clusterAddrs;
// every node shares the relay key in keyFile.
func startRelay(t *testing.T, i int, clusterAddrs []string, keyFile string) *relayProcess {
	t.Helper()
	dir := t.TempDir()
	listen, natsListen := freePort(t), freePort(t)
	var routes []string
	for j, a := range clusterAddrs {
		if j != i {
			routes = append(routes, "nats-route://"+a)
		}
	}
	r := &relayProcess{name: fmt.Sprintf("node%d", i+1), base: "https://" + listen, natsURL: "tls://" + natsListen,
		caFile: filepath.Join(dir, "certs", "ca.pem"), out: &bytes.Buffer{}, done: make(chan struct{})}
	r.cmd = exec.Command(cloudBin, "serve", "--simulator", "--data-dir", dir, "--relay-key", keyFile,
		"--listen", listen, "--nats-listen", natsListen, "--nats-name", r.name,
		"--nats-cluster", clusterAddrs[i], "--nats-routes", strings.Join(routes, ","), "--nats-replicas", "3",
		// A call whose answer the killed node lost is pending after 10 s
		// instead of 80: the ECR's retry resolves it sooner.
		"--transfer-wait", "10s")
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		r.stop()
		if t.Failed() {
			t.Logf("%s output:\n%s", r.name, r.out.String())
		}
	})
	return r
}

// kill ends the relay with SIGKILL: no clean shutdown of its NATS node.
func (r *relayProcess) kill() {
	_ = r.cmd.Process.Kill()
	<-r.done
}

func (r *relayProcess) stop() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = r.cmd.Process.Signal(os.Interrupt)
	select {
	case <-r.done:
	case <-time.After(20 * time.Second):
		r.kill()
	}
}

// try is call without failing the test on a network error (a relay that
// was killed): err is the transport's error.
func (c *client) try(method, path string, body any) (int, map[string]any, error) {
	b, _ := json.Marshal(body)
	req, err := http.NewRequest(method, c.base+path, bytes.NewReader(b))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range c.headers {
		req.Header.Set(k, v)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var m map[string]any
	err = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m, err
}

// cloudState is the daemon's cloud link as its status reports it.
func (term *terminal) cloudState() (state string, since time.Time) {
	status, m, err := term.lan.try("POST", "/cashless/v1/status", map[string]any{})
	if err != nil || status != 200 {
		return "", time.Time{}
	}
	c, _ := m["cloud"].(map[string]any)
	state, _ = c["state"].(string)
	s, _ := c["since"].(string)
	since, _ = time.Parse(time.RFC3339Nano, s)
	return state, since
}

// The scale test: three relay processes joined as a 3-node NATS
// cluster (replicas 3), two simulator daemons connected to different
// nodes, cloudECR and native sales spread across the relays, and the node
// one terminal is connected to killed with SIGKILL mid-traffic. The
// terminal reconnects through the surviving nodes (it was given only its
// first node: it learns the others from the cluster), every sale ends
// approved, and the host simulator's ledger of each daemon books each
// reference exactly once, under the transaction the ECR was told.
func TestClusterOfRelayProcessesSurvivesAKilledNode(t *testing.T) {
	t.Parallel()
	began := time.Now()
	keyFile := filepath.Join(t.TempDir(), "relay.key")
	if err := os.WriteFile(keyFile, []byte(hex.EncodeToString(bytes.Repeat([]byte{7}, 32))+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	clusterAddrs := []string{freePort(t), freePort(t), freePort(t)}
	relays := make([]*relayProcess, 3)
	for i := range relays {
		relays[i] = startRelay(t, i, clusterAddrs, keyFile)
	}
	// The terminals trust the three relays' development CAs.
	var bundle []byte
	ecrs := make([]*client, 3)
	for i, r := range relays {
		eventually(t, r.name+" serving", func() bool {
			_, err := os.Stat(r.caFile)
			return err == nil
		})
		ca, err := os.ReadFile(r.caFile)
		if err != nil {
			t.Fatal(err)
		}
		bundle = append(bundle, ca...)
		ecrs[i] = newClient(t, r.base, r.caFile)
		eventually(t, r.name+" answering a login", func() bool {
			status, m, err := ecrs[i].try("POST", "/auth/login", map[string]string{"posId": server.SimulatorPosID, "password": server.SimulatorPassword})
			if err != nil || status != 200 {
				return false
			}
			ecrs[i].headers["Authorization"] = "Bearer " + m["access"].(map[string]any)["token"].(string)
			return true
		})
	}
	caBundle := filepath.Join(t.TempDir(), "relays-ca.pem")
	if err := os.WriteFile(caBundle, bundle, 0o600); err != nil {
		t.Fatal(err)
	}
	// Terminal A knows only node1 and terminal B only node2: each learns
	// the other nodes from the cluster. Node1 is the one killed.
	terms := []*terminal{
		startDaemon(t, "term_CLP_A001", relays[0].natsURL, caBundle),
		startDaemon(t, "term_CLP_B001", relays[1].natsURL, caBundle),
	}
	for _, term := range terms {
		eventually(t, term.id+" connected to its node", func() bool {
			state, _ := term.cloudState()
			return state == "connected"
		})
		for _, e := range ecrs {
			eventually(t, term.id+" listed as connected on "+e.base, func() bool {
				_, m, err := e.try("GET", "/api/terminals", nil)
				if err != nil {
					return false
				}
				d, _ := m["data"].([]any)
				for _, x := range d {
					if x := x.(map[string]any); x["terminalId"] == term.id && x["connected"] == true {
						return true
					}
				}
				return false
			})
		}
	}

	t.Logf("cluster and terminals up after %v", time.Since(began))
	// Two workers per terminal; even sales go through cloudECR, odd ones
	// through the native passthrough, each try through the next relay.
	const workersPerTerminal, perWorker = 2, 8
	total := len(terms) * workersPerTerminal * perWorker
	var (
		killed                atomic.Bool
		done, retried, errAns atomic.Int64
		mu                    sync.Mutex
		booked                = map[string]string{} // reference → transaction ID the ECR was told
		refsOf                = map[string][]string{}
		work                  sync.WaitGroup
	)
	saleOnce := func(e *client, term *terminal, ref string, n int, native bool) (string, bool, error) {
		if native {
			status, m, err := e.try("POST", "/cashless/v1/terminals/"+term.id+"/sale",
				map[string]any{"amount": 100 + n, "currency": "USD", "reference": ref})
			if err != nil {
				return "", false, err
			}
			id, _ := m["transactionId"].(string)
			return id, status == 200 && m["status"] == "approved", nil
		}
		body := sale(server.SimulatorPosID, server.SimulatorMerchantID, term.id, ref, fmt.Sprintf("1.%02d", n))
		body["datetime"] = time.Now().UTC().Format("20060102150405")
		body["apiVersion"] = "v1"
		body["signature"] = fiuu.Sign(body, []byte(server.SimulatorSecret))
		status, m, err := e.try("POST", "/api/transfer", body)
		if err != nil {
			return "", false, err
		}
		td, _ := m["transData"].(map[string]any)
		id, _ := td["transId"].(string)
		return id, status == 200 && m["statusCode"] == "00", nil
	}
	for ti, term := range terms {
		for w := range workersPerTerminal {
			work.Add(1)
			go func() {
				defer work.Done()
				for n := range perWorker {
					ref := fmt.Sprintf("CLP-%d-W%dN%d", ti, w, n)
					mu.Lock()
					refsOf[term.id] = append(refsOf[term.id], ref)
					mu.Unlock()
					deadline := time.Now().Add(3 * time.Minute)
					for try := 0; ; try++ {
						i := (ti + w + n + try) % 3
						if i == 0 && killed.Load() {
							i = 1 + (try % 2)
						}
						began := time.Now()
						id, approved, err := saleOnce(ecrs[i], term, ref, n, (w+n)%2 == 1)
						if took := time.Since(began); took > 10*time.Second {
							t.Logf("%s (native %v) through %s took %v: approved %v, %v", ref, (w+n)%2 == 1, relays[i].name, took.Round(time.Millisecond), approved, err)
						}
						if approved {
							mu.Lock()
							booked[ref] = id
							mu.Unlock()
							done.Add(1)
							break
						}
						if try == 0 {
							retried.Add(1)
						}
						if err != nil {
							errAns.Add(1)
						}
						if time.Now().After(deadline) {
							t.Errorf("%s never approved (last try through %s: %v)", ref, relays[i].name, err)
							return
						}
						time.Sleep(100 * time.Millisecond)
					}
				}
			}()
		}
	}

	// Kill node1 once a third of the sales are done, and see terminal A
	// come back through a surviving node.
	eventually(t, "a third of the sales done", func() bool { return done.Load() >= int64(total/3) })
	_, sinceBefore := terms[0].cloudState()
	killAt := time.Now()
	killed.Store(true)
	relays[0].kill()
	var reconnected time.Duration
	ctx := t.Context()
	for reconnected == 0 {
		state, since := terms[0].cloudState()
		if state == "connected" && since.After(sinceBefore) {
			reconnected = time.Since(killAt)
			break
		}
		if time.Since(killAt) > 2*time.Minute {
			t.Fatalf("%s never reconnected after %s was killed (state %q)", terms[0].id, relays[0].name, state)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Logf("node1 killed after %v", killAt.Sub(began))
	work.Wait()
	t.Logf("sales done after %v", time.Since(began))
	if t.Failed() {
		return
	}

	// Every reference: the terminal's record is the transaction the ECR was
	// told, and its host simulator booked it exactly once.
	for _, term := range terms {
		for _, ref := range refsOf[term.id] {
			status, m, err := term.lan.try("POST", "/cashless/v1/transaction", map[string]any{"reference": ref})
			if err != nil || status != 200 || m["transactionId"] != booked[ref] {
				t.Errorf("%s on %s: the ECR was told %s, the terminal says %d %v %v", ref, term.id, booked[ref], status, m, err)
			}
		}
		var ledger hostsim.Ledger
		eventually(t, term.id+"'s ledger holds every sale", func() bool {
			var err error
			ledger, err = hostsim.ReadLedger(filepath.Join(term.dir, "hostsim", "ledger.json"))
			return err == nil && len(ledger.Approvals) >= len(refsOf[term.id])
		})
		bookings := map[string]int{}
		for _, a := range ledger.Approvals {
			if a.Kind != "sale" || a.Reversed {
				t.Errorf("%s: the host booked something other than an approved sale: %+v", term.id, a)
			}
			bookings[a.TransactionID]++
		}
		if len(ledger.Approvals) != len(refsOf[term.id]) {
			t.Errorf("%s: %d bookings for %d references", term.id, len(ledger.Approvals), len(refsOf[term.id]))
		}
		for _, ref := range refsOf[term.id] {
			if n := bookings[booked[ref]]; n != 1 {
				t.Errorf("%s (%s) booked %d times on %s's host", ref, booked[ref], n, term.id)
			}
		}
	}
	t.Logf("%d sales through 3 relay processes, %s killed (SIGKILL) after %d; %s reconnected %v after the kill; %d sales needed a retry, %d tries lost their answer to a transport error",
		total, relays[0].name, total/3, terms[0].id, reconnected.Round(time.Millisecond), retried.Load(), errAns.Load())
}

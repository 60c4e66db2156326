// Package spooltest starts NATS JetStream clusters for tests: three
// nats-server processes (Debian's package) on loopback ports.
package spooltest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Node is one nats-server process of a test cluster.
type Node struct {
	// URL is the node's client URL.
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Kill stops the node at once (SIGKILL) and waits for it to exit.
func (n *Node) Kill() {
	n.cmd.Process.Kill()
	<-n.done
}

// Cluster is a running three-node cluster.
type Cluster struct {
	Nodes []*Node
	// URLs is the comma-separated client URL list of every node.
	URLs string
}

// Start starts a three-node JetStream cluster on free loopback ports with
// the given max_payload (such as "8MB"); it stops when the test ends. It
// skips the test when nats-server is not installed, or fails it when the
// CI variable is set (CI installs it).
func Start(t testing.TB, maxPayload string) *Cluster {
	t.Helper()
	bin, err := exec.LookPath("nats-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("nats-server is not installed (apt-get install nats-server)")
		}
		t.Skip("nats-server is not installed")
	}
	const n = 3
	client, route := make([]int, n), make([]int, n)
	for i := range n {
		client[i], route[i] = freePort(t), freePort(t)
	}
	c := &Cluster{}
	var urls []string
	for i := range n {
		dir := t.TempDir()
		var routes []string
		for j := range n {
			if j != i {
				routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", route[j]))
			}
		}
		// max_pending must not be below max_payload (nats-server 2.9).
		conf := fmt.Sprintf(`server_name: n%d
listen: 127.0.0.1:%d
max_payload: %s
max_pending: 256MB
jetstream { store_dir: %q, max_memory_store: 64MB, max_file_store: 4GB }
cluster { name: edgehog-test, listen: 127.0.0.1:%d, routes: [%s] }
`, i, client[i], maxPayload, filepath.Join(dir, "js"), route[i], strings.Join(routes, ", "))
		path := filepath.Join(dir, "nats.conf")
		if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-c", path)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		nd := &Node{cmd: cmd, URL: fmt.Sprintf("nats://127.0.0.1:%d", client[i]), done: make(chan struct{})}
		go func() { cmd.Wait(); close(nd.done) }()
		c.Nodes = append(c.Nodes, nd)
		urls = append(urls, nd.URL)
	}
	c.URLs = strings.Join(urls, ",")
	t.Cleanup(func() {
		for _, nd := range c.Nodes {
			nd.Kill()
		}
	})
	return c
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

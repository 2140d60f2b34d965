// Command helm-render renders Helm charts client-side, as `helm template`
// does and as the kubernetes provider's helm.v4.Chart does in render mode,
// without the Pulumi engine: the lower bound of what rendering the platform's
// charts costs.
//
//	helm-render <charts.json> [kube-version]
//
// charts.json is a list of {"chart": "/path/x.tgz", "release": "name",
// "namespace": "ns", "values": {...}}; kube-version (default 1.35) is the
// Kubernetes version the charts see. It prints, as JSON on stdout, the
// object count and milliseconds of each chart (loading and rendering) and the
// total.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"helm.sh/helm/v3/pkg/action"
	"helm.sh/helm/v3/pkg/chart/loader"
	"helm.sh/helm/v3/pkg/chartutil"
	"helm.sh/helm/v3/pkg/releaseutil"
	"sigs.k8s.io/yaml"
)

// input is one chart to render.
type input struct {
	Chart     string         `json:"chart"`
	Release   string         `json:"release"`
	Namespace string         `json:"namespace"`
	Values    map[string]any `json:"values"`
}

// chartResult is what rendering one chart gave.
type chartResult struct {
	Release   string `json:"release"`
	Namespace string `json:"namespace"`
	Chart     string `json:"chart"`
	Objects   int    `json:"objects"`
	// LoadMs: loader.Load; RenderMs: the install action; Ms: both, and counting.
	LoadMs   float64 `json:"loadMs"`
	RenderMs float64 `json:"renderMs"`
	Ms       float64 `json:"ms"`
}

type output struct {
	KubeVersion string        `json:"kubeVersion"`
	Charts      []chartResult `json:"charts"`
	Objects     int           `json:"objects"`
	Ms          float64       `json:"ms"`
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// countObjects counts the Kubernetes objects of a rendered manifest: every
// document with a top-level kind, the items of a `List` each. Helm writes
// top-level keys at the start of a line, so only Lists are parsed (the CRDs
// would cost more to parse than to render).
func countObjects(manifest string) (int, error) {
	docs := releaseutil.SplitManifests(manifest)
	keys := make([]string, 0, len(docs))
	for k := range docs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	n := 0
	for _, k := range keys {
		kind := ""
		for _, line := range strings.Split(docs[k], "\n") {
			if rest, ok := strings.CutPrefix(line, "kind:"); ok {
				kind = strings.Trim(strings.TrimSpace(rest), `"'`)
				break
			}
		}
		switch {
		case kind == "":
		case strings.HasSuffix(kind, "List"):
			var list struct {
				Items []json.RawMessage `json:"items"`
			}
			if err := yaml.Unmarshal([]byte(docs[k]), &list); err != nil {
				return 0, fmt.Errorf("rendered document %s: %w", k, err)
			}
			n += len(list.Items)
		default:
			n++
		}
	}
	return n, nil
}

func render(in input, kube *chartutil.KubeVersion) (chartResult, error) {
	res := chartResult{Release: in.Release, Namespace: in.Namespace, Chart: in.Chart}
	start := time.Now()
	chrt, err := loader.Load(in.Chart)
	if err != nil {
		return res, fmt.Errorf("loading %s: %w", in.Chart, err)
	}
	loaded := time.Now()

	cfg := &action.Configuration{Log: func(string, ...interface{}) {}}
	install := action.NewInstall(cfg)
	install.DryRun = true
	install.DryRunOption = "client"
	install.ClientOnly = true
	install.Replace = true
	install.IncludeCRDs = true
	install.DisableHooks = true
	install.ReleaseName = in.Release
	install.Namespace = in.Namespace
	install.KubeVersion = kube
	values := in.Values
	if values == nil {
		values = map[string]any{}
	}
	rel, err := install.Run(chrt, values)
	if err != nil {
		return res, fmt.Errorf("rendering %s (release %s): %w", in.Chart, in.Release, err)
	}
	done := time.Now()
	objects, err := countObjects(rel.Manifest)
	if err != nil {
		return res, fmt.Errorf("%s (release %s): %w", in.Chart, in.Release, err)
	}
	res.Chart = chrt.Metadata.Name + "-" + chrt.Metadata.Version
	res.Objects = objects
	res.LoadMs = ms(loaded.Sub(start))
	res.RenderMs = ms(done.Sub(loaded))
	res.Ms = ms(time.Since(start))
	return res, nil
}

func run(args []string, stdout io.Writer) error {
	if len(args) < 1 || len(args) > 2 {
		return fmt.Errorf("usage: helm-render <charts.json> [kube-version]")
	}
	version := "1.35"
	if len(args) == 2 {
		version = args[1]
	}
	kube, err := chartutil.ParseKubeVersion(version)
	if err != nil {
		return fmt.Errorf("kube-version %q: %w", version, err)
	}
	data, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	var inputs []input
	if err := json.Unmarshal(data, &inputs); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	out := output{KubeVersion: kube.Version, Charts: []chartResult{}}
	start := time.Now()
	for _, in := range inputs {
		res, err := render(in, kube)
		if err != nil {
			return err
		}
		out.Charts = append(out.Charts, res)
		out.Objects += res.Objects
	}
	out.Ms = ms(time.Since(start))
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintf(os.Stderr, "helm-render: %v\n", err)
		os.Exit(1)
	}
}

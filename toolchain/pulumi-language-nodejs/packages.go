package main

// The program's npm packages as the engine asks for them: its dependencies
// with their installed versions, the provider plugins they declare, and the
// @pulumi/pulumi entry points and runtime options the host starts node with.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
	"google.golang.org/protobuf/types/known/structpb"
)

func (h *nodeHost) GetProgramDependencies(
	_ context.Context, req *pulumirpc.GetProgramDependenciesRequest,
) (*pulumirpc.GetProgramDependenciesResponse, error) {
	dir := req.GetInfo().GetProgramDirectory()
	pkg, err := readPackageJSON(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(pkg.Dependencies))
	for name := range pkg.Dependencies {
		names = append(names, name)
	}
	sort.Strings(names)
	deps := make([]*pulumirpc.DependencyInfo, 0, len(names))
	for _, name := range names {
		v := pkg.Dependencies[name]
		if installed, err := readPackageJSON(filepath.Join(dir, "node_modules", name, "package.json")); err == nil {
			v = installed.Version
		}
		deps = append(deps, &pulumirpc.DependencyInfo{Name: name, Version: v})
	}
	return &pulumirpc.GetProgramDependenciesResponse{Dependencies: deps}, nil
}

type packageJSON struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Dependencies map[string]string `json:"dependencies"`
	Pulumi       struct {
		Resource bool   `json:"resource"`
		Name     string `json:"name"`
		Version  string `json:"version"`
		Server   string `json:"server"`
	} `json:"pulumi"`
}

func readPackageJSON(path string) (*packageJSON, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", path, err)
	}
	return &p, nil
}

// resourcePackages lists the provider plugins the program's direct npm
// dependencies declare ("pulumi": {"resource": true} in their package.json),
// so the engine can check they are installed before the program runs.
func resourcePackages(programDir string) ([]*pulumirpc.PackageDependency, error) {
	if programDir == "" {
		return nil, nil
	}
	pkg, err := readPackageJSON(filepath.Join(programDir, "package.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var deps []*pulumirpc.PackageDependency
	names := make([]string, 0, len(pkg.Dependencies))
	for name := range pkg.Dependencies {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		dep, err := readPackageJSON(filepath.Join(programDir, "node_modules", name, "package.json"))
		if err != nil || !dep.Pulumi.Resource {
			continue
		}
		pluginName := dep.Pulumi.Name
		if pluginName == "" {
			pluginName = strings.TrimPrefix(strings.TrimPrefix(dep.Name, "@pulumi/"), "@")
		}
		pluginVersion := dep.Pulumi.Version
		if pluginVersion == "" {
			pluginVersion = dep.Version
		}
		deps = append(deps, &pulumirpc.PackageDependency{
			Name:    pluginName,
			Kind:    "resource",
			Version: "v" + strings.TrimPrefix(pluginVersion, "v"),
			Server:  dep.Pulumi.Server,
		})
	}
	return deps, nil
}

// sdkEntryPoint finds @pulumi/pulumi/cmd/<name> the way node would resolve it
// from the program directory: the nearest node_modules walking upwards.
func sdkEntryPoint(programDir, name string) (string, error) {
	dir, err := filepath.Abs(programDir)
	if err != nil {
		return "", err
	}
	for {
		candidate := filepath.Join(dir, "node_modules", "@pulumi", "pulumi", "cmd", name)
		if _, err := os.Stat(candidate); err == nil {
			return candidate, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf(
				"it looks like the Pulumi SDK has not been installed: no node_modules/@pulumi/pulumi/cmd/%s "+
					"above %s; run the project's install step (pnpm install)", name, programDir)
		}
		dir = parent
	}
}

// nodeArgs returns the runtime option "nodeargs" (Pulumi.yaml) as node flags.
func nodeArgs(options *structpb.Struct) []string {
	if v, ok := options.GetFields()["nodeargs"]; ok && v.GetStringValue() != "" {
		return strings.Fields(v.GetStringValue())
	}
	return nil
}

// typeScriptEnv maps the Pulumi.yaml runtime options onto the variables that
// @pulumi/pulumi's runner reads. TypeScript (through ts-node) is on unless the
// project sets `typescript: false`, as with the upstream host.
func typeScriptEnv(options *structpb.Struct) []string {
	fields := options.GetFields()
	typescript := true
	if v, ok := fields["typescript"]; ok {
		typescript = v.GetBoolValue()
	}
	env := []string{fmt.Sprintf("PULUMI_NODEJS_TYPESCRIPT=%t", typescript)}
	if v, ok := fields["tsconfig"]; ok && v.GetStringValue() != "" {
		env = append(env, "PULUMI_NODEJS_TSCONFIG_PATH="+v.GetStringValue())
	}
	return env
}

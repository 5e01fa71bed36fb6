package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/logstream-sim/logstream-sim/sim/swarm"
)

// job is the part of a Kubernetes Job manifest the test checks.
type job struct {
	APIVersion string `yaml:"apiVersion"`
	Kind       string `yaml:"kind"`
	Spec       struct {
		CompletionMode string `yaml:"completionMode"`
		Completions    int    `yaml:"completions"`
		Parallelism    int    `yaml:"parallelism"`
		Template       struct {
			Spec struct {
				RestartPolicy string `yaml:"restartPolicy"`
				Containers    []struct {
					Name string   `yaml:"name"`
					Args []string `yaml:"args"`
					Env  []struct {
						Name      string `yaml:"name"`
						ValueFrom struct {
							FieldRef struct {
								FieldPath string `yaml:"fieldPath"`
							} `yaml:"fieldRef"`
						} `yaml:"valueFrom"`
					} `yaml:"env"`
				} `yaml:"containers"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

// TestDeployManifest parses deploy/swarm-job.yaml and checks it is an
// Indexed Job whose pod i runs 'simrun swarm --shard i/N' with N the number
// of completions: JOB_COMPLETION_INDEX comes from the completion-index
// annotation and reaches --shard; the args parse as simrun swarm flags.
func TestDeployManifest(t *testing.T) {
	b, err := os.ReadFile("../../deploy/swarm-job.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var j job
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(false)
	if err := dec.Decode(&j); err != nil {
		t.Fatalf("deploy/swarm-job.yaml: %v", err)
	}
	if j.APIVersion != "batch/v1" || j.Kind != "Job" || j.Spec.CompletionMode != "Indexed" {
		t.Fatalf("not an Indexed batch/v1 Job: %s %s %s", j.APIVersion, j.Kind, j.Spec.CompletionMode)
	}
	n := j.Spec.Completions
	if n < 1 || j.Spec.Parallelism != n || j.Spec.Template.Spec.RestartPolicy != "Never" {
		t.Fatalf("completions %d, parallelism %d, restartPolicy %q", n, j.Spec.Parallelism, j.Spec.Template.Spec.RestartPolicy)
	}
	if len(j.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(j.Spec.Template.Spec.Containers))
	}
	c := j.Spec.Template.Spec.Containers[0]
	fromAnnotation := false
	for _, e := range c.Env {
		if e.Name == "JOB_COMPLETION_INDEX" {
			fromAnnotation = e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['batch.kubernetes.io/job-completion-index']"
		}
	}
	if !fromAnnotation {
		t.Fatal("JOB_COMPLETION_INDEX is not set from the job-completion-index annotation")
	}
	if len(c.Args) == 0 || c.Args[0] != "swarm" {
		t.Fatalf("args %q do not run simrun swarm", c.Args)
	}
	shardAt := -1
	for i, a := range c.Args {
		if a == "--shard" && i+1 < len(c.Args) {
			shardAt = i + 1
		}
	}
	if shardAt < 0 || c.Args[shardAt] != "$(JOB_COMPLETION_INDEX)/"+strconv.Itoa(n) {
		t.Fatalf("--shard is not $(JOB_COMPLETION_INDEX)/%d: %q", n, c.Args)
	}
	// Each pod's args, with the index Kubernetes substitutes, select its
	// shard and parse as simrun swarm flags (--seeds 0 appended makes the
	// command stop with a usage error right after parsing them).
	for i := range n {
		args := make([]string, len(c.Args)-1)
		for k, a := range c.Args[1:] {
			args[k] = strings.ReplaceAll(a, "$(JOB_COMPLETION_INDEX)", strconv.Itoa(i))
		}
		sh, err := swarm.ParseShard(args[shardAt-1])
		if err != nil || sh.Index != i || sh.Count != n {
			t.Fatalf("pod %d: shard %q: %v", i, args[shardAt-1], err)
		}
		m := &Main{Stdout: new(bytes.Buffer), Stderr: new(bytes.Buffer)}
		err = (&SwarmCommand{main: m}).Run(context.Background(), append(args, "--seeds", "0"))
		var ue *UsageError
		if !errors.As(err, &ue) || !strings.Contains(err.Error(), "--seeds 0") {
			t.Fatalf("pod %d: args %q do not parse as swarm flags: %v", i, args, err)
		}
	}
}

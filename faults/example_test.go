package faults_test

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/logstream-sim/logstream-sim/faults"
)

func ExampleParse() {
	p, err := faults.Parse(`
# r2 drops out while the file rotates twice
at 40s unreachable target=r2 for=20s
at 12.5s rotate keep=3
at 13s rotate keep=3
prob drop-reply 0.01
delay uniform 1ms 50ms
`)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(p)
	fmt.Println(p.Len(), p.LossCauses())
	// Output:
	// at 12.5s rotate keep=3
	// at 13s rotate keep=3
	// at 40s unreachable target=r2 for=20s
	// prob drop-reply 0.01
	// delay uniform 1ms 50ms
	// 5 [hidden-generation deleted-unread]
}

func ExampleParse_error() {
	_, err := faults.Parse("at 1s rotate\n\nat 2s rotat\n")
	fmt.Println(err)
	// Output: line 3: unknown fault kind "rotat"
}

func ExamplePlan_Without() {
	p, _ := faults.Parse("at 1s crash\nprob duplicate 0.1\n")
	for i := range p.Len() {
		fmt.Printf("without %q: %q\n", p.Item(i), p.Without(i).String())
	}
	// Output:
	// without "at 1s crash": "prob duplicate 0.1\n"
	// without "prob duplicate 0.1": "at 1s crash\n"
}

func ExampleRandom() {
	opts := faults.GenOptions{Horizon: time.Minute, Targets: []string{"r1"}, MaxFaults: 3}
	a := faults.Random(rand.New(rand.NewPCG(1, 2)), opts)
	b := faults.Random(rand.New(rand.NewPCG(1, 2)), opts)
	fmt.Println(a.Equal(b), a.Validate() == nil)
	// Output: true true
}

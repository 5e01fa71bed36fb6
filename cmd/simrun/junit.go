package main

import (
	"encoding/xml"
	"io"
)

// JUnit XML, in the shape CI systems (Jenkins, GitLab, GitHub actions)
// ingest: one <testsuite> per invocation inside <testsuites>, one
// <testcase> per scenario or seed, with a <failure> (a property failed or
// the output differed) or an <error> (the run could not happen).

type junitSuites struct {
	XMLName  xml.Name     `xml:"testsuites"`
	Name     string       `xml:"name,attr"`
	Tests    int          `xml:"tests,attr"`
	Failures int          `xml:"failures,attr"`
	Errors   int          `xml:"errors,attr"`
	Time     string       `xml:"time,attr"`
	Suites   []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string         `xml:"name,attr"`
	Tests    int            `xml:"tests,attr"`
	Failures int            `xml:"failures,attr"`
	Errors   int            `xml:"errors,attr"`
	Skipped  int            `xml:"skipped,attr"`
	Time     string         `xml:"time,attr"`
	Props    *junitPropList `xml:"properties,omitempty"`
	Cases    []junitCase    `xml:"testcase"`
}

type junitPropList struct {
	Props []junitProp `xml:"property"`
}

type junitProp struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      string        `xml:"time,attr"`
	Failure   *junitProblem `xml:"failure,omitempty"`
	Error     *junitProblem `xml:"error,omitempty"`
	Skipped   *junitSkip    `xml:"skipped,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type junitSkip struct {
	Message string `xml:"message,attr"`
}

type junitProblem struct {
	Message string `xml:"message,attr"`
	Type    string `xml:"type,attr"`
	Text    string `xml:",chardata"`
}

// junitReport collects the testcases of one invocation.
type junitReport struct {
	suite junitSuite
}

func newJUnit(name string, props ...string) *junitReport {
	r := &junitReport{suite: junitSuite{Name: name}}
	for i := 0; i+1 < len(props); i += 2 {
		if r.suite.Props == nil {
			r.suite.Props = &junitPropList{}
		}
		r.suite.Props.Props = append(r.suite.Props.Props, junitProp{Name: props[i], Value: props[i+1]})
	}
	return r
}

// prop adds a property to the suite.
func (r *junitReport) prop(name, value string) {
	if r.suite.Props == nil {
		r.suite.Props = &junitPropList{}
	}
	r.suite.Props.Props = append(r.suite.Props.Props, junitProp{Name: name, Value: value})
}

// add records one testcase; failure and errText are empty when it passed.
func (r *junitReport) add(name, class, secs, failType, failMsg, text string, isError bool) {
	c := junitCase{Name: name, Classname: class, Time: secs}
	r.suite.Tests++
	if failMsg != "" || failType != "" {
		p := &junitProblem{Message: failMsg, Type: failType, Text: text}
		if isError {
			c.Error = p
			r.suite.Errors++
		} else {
			c.Failure = p
			r.suite.Failures++
		}
	}
	r.suite.Cases = append(r.suite.Cases, c)
}

// addSkipped records one testcase that did not run, and why.
func (r *junitReport) addSkipped(name, class, why string) {
	r.suite.Tests++
	r.suite.Skipped++
	r.suite.Cases = append(r.suite.Cases, junitCase{Name: name, Classname: class, Time: "0", Skipped: &junitSkip{Message: why}})
}

// write renders the report with the suite's total time.
func (r *junitReport) write(w io.Writer, secs string) error {
	r.suite.Time = secs
	doc := junitSuites{
		Name: "simrun", Tests: r.suite.Tests, Failures: r.suite.Failures, Errors: r.suite.Errors,
		Time: secs, Suites: []junitSuite{r.suite},
	}
	return writeSuites(w, doc)
}

module github.com/logstream-sim/logstream-sim

go 1.26

require (
	github.com/benbjohnson/clock v1.3.5
	github.com/fsnotify/fsnotify v1.10.1
	github.com/spf13/afero v1.15.0
	go.uber.org/goleak v1.3.0
	gopkg.in/natefinch/lumberjack.v2 v2.2.1
	pgregory.net/rapid v1.3.0
)

require (
	golang.org/x/sys v0.13.0 // indirect
	golang.org/x/text v0.28.0 // indirect
)

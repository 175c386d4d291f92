//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cli

import (
	"os"
	"syscall"
	"unsafe"
)

// IsTerminal says whether f is a terminal, which a prompt, a live progress
// line and colour need: it answers the terminal's own request (as
// golang.org/x/term does), so /dev/null, a pipe or a file is not one.
func IsTerminal(f *os.File) bool {
	var t syscall.Termios
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), ioctlGetTermios, uintptr(unsafe.Pointer(&t)))
	return errno == 0
}

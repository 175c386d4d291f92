package main

// The release image is FROM scratch and so has no CA bundle of its own: the
// binary carries Mozilla's roots, which crypto/x509 uses only where the
// system has none (on a runner or a distro image the system's still win).
import _ "golang.org/x/crypto/x509roots/fallback"

// Loopback confinement: Open MPI's listeners on 127.0.0.1 and ::1 instead of
// every interface, when all ranks are on this host.
//
// Why: Open MPI 4.1's TCP listeners (the OOB's in mpirun/orted and in each
// rank, the tcp BTL's in each rank) always bind INADDR_ANY / in6addr_any;
// oob_tcp_if_include and btl_tcp_if_include only choose which addresses are
// advertised and used. So a job whose ranks all run here still opens ports to
// the network. With PARBENCH_MPI_LOOPBACK=1 in a process's environment, its
// bind() of a wildcard address binds the loopback address of that family
// instead (port, flow info and scope kept); every other bind, and every bind
// without the variable, is passed through unchanged.
//
// Where bind() is replaced:
// - In parbench_bench and parbench_tests themselves: mpi/loopback.cpp defines
//   bind() and the executables export it (-Wl,--export-dynamic-symbol=bind),
//   so that the calls of Open MPI's libraries and of the plugins it dlopens
//   (mca_oob_tcp.so, mca_btl_tcp.so) reach it.
// - In programs that are not ours (mpirun, orted): the preload library
//   libparbench_loopback.so, built next to the binaries when Open MPI is
//   found. It takes itself out of LD_PRELOAD as it loads, so that the
//   processes those start (our ranks, which carry their own bind) do not
//   inherit it: an ASan-built program aborts when a library is preloaded
//   ahead of its runtime.
//
// If ::1 cannot be bound (IPv6 disabled on lo), a wildcard IPv6 bind binds
// the IPv4 loopback through that socket (::ffff:127.0.0.1, dual-stack)
// instead: Open MPI's tcp BTL gives up the whole transport when its IPv6
// listener cannot bind (it tolerates only socket() failing with
// EAFNOSUPPORT), and spawned ranks need that transport.
//
// Who sets what (the contract):
// - A process not started by Open MPI's launcher (parbench_bench run by hand,
//   parbench_tests: a singleton that spawns its ranks), with
//   PARBENCH_MPI_HOSTFILE unset or empty: mpi::initialise() sets, before
//   MPI_Init and each only if the user has not, OMPI_MCA_oob_tcp_if_include=lo
//   and OMPI_MCA_btl_tcp_if_include=lo (neither if the user set the matching
//   *_if_exclude: Open MPI refuses both), PARBENCH_MPI_LOOPBACK=1, and puts
//   libparbench_loopback.so (next to /proc/self/exe; without it if it is not
//   there) first in LD_PRELOAD while MPI_Init forks Open MPI's daemon (orted),
//   then gives LD_PRELOAD back its old value.
// - Launched by mpirun (the sweep): the ranks take what the launcher's
//   environment says. The sweep, when its [mpi] table names no hosts and no
//   hostfile, runs mpirun with PARBENCH_MPI_LOOPBACK=1,
//   OMPI_MCA_oob_tcp_if_include=lo, OMPI_MCA_btl_tcp_if_include=lo (neither
//   if the launcher arguments choose the interfaces themselves) and
//   LD_PRELOAD=<directory of parbench_bench>/libparbench_loopback.so (before
//   any LD_PRELOAD it already has). LD_PRELOAD must reach mpirun itself: a
//   wrapper that starts mpirun as its child (timeout, a shell script that
//   does not exec) loads the library first and so takes it out of the
//   environment it passes on; one that execs mpirun (env) is fine. With
//   hosts or a hostfile, none of these.
#pragma once

#include <sys/socket.h>

namespace parbench::mpi::loopback {

/// The environment variable that turns confinement on (value "1").
inline constexpr char kEnableVariable[] = "PARBENCH_MPI_LOOPBACK";
/// The preload library's file name, in the directory of the executables.
inline constexpr char kPreloadLibrary[] = "libparbench_loopback.so";

/// Whether PARBENCH_MPI_LOOPBACK=1 is in this process's environment now.
bool enabled() noexcept;

/// If address (length bytes) is a wildcard IPv4 or IPv6 address, writes the
/// same address with the loopback one in its place into loopback and returns
/// true; otherwise returns false and leaves loopback alone.
bool to_loopback(const sockaddr* address, socklen_t length, sockaddr_storage& loopback) noexcept;

}  // namespace parbench::mpi::loopback

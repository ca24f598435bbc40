// Loopback confinement: with PARBENCH_MPI_LOOPBACK=1 in a process's
// environment, its bind() of a wildcard address binds that family's loopback
// address instead (port, flow info and scope kept); every other bind passes
// through. Why: Open MPI 4.1's TCP listeners (the OOB's in mpirun, orted and
// each rank, the tcp BTL's in each rank) always bind every interface;
// *_tcp_if_include only chooses the addresses advertised and used, so a job
// whose ranks all run here would still open ports to the network.
//
// Where: parbench_bench and parbench_tests define bind() and export it
// (-Wl,--export-dynamic-symbol=bind), so Open MPI's libraries and the plugins
// it dlopens call it; mpirun and orted get libparbench_loopback.so through
// LD_PRELOAD, which takes itself out of LD_PRELOAD as it loads (our ranks carry
// their own bind, and an ASan-built rank aborts on a library preloaded ahead of
// its runtime). If ::1 cannot be bound, a wildcard IPv6 bind binds
// ::ffff:127.0.0.1 (dual-stack): Open MPI's tcp BTL gives up the whole
// transport when its IPv6 listener fails, and spawned ranks need it.
//
// Who sets it (the contract; README "MPI" says the same for users):
// - a process not started by mpirun, with PARBENCH_MPI_HOSTFILE unset or empty:
//   mpi::initialise() sets OMPI_MCA_oob_tcp_if_include=lo,
//   OMPI_MCA_btl_tcp_if_include=lo (unless the user set either, or the
//   matching *_if_exclude) and PARBENCH_MPI_LOOPBACK=1, and puts the preload
//   library (next to /proc/self/exe) first in LD_PRELOAD while MPI_Init forks
//   orted;
// - a launched job: the sweep, when its [mpi] table names no hosts and no
//   hostfile and its launcher arguments choose no interfaces, runs mpirun
//   with those three variables and LD_PRELOAD=<binary's folder>/
//   libparbench_loopback.so first. LD_PRELOAD must reach mpirun itself (a
//   wrapper such as timeout that starts mpirun as its child would load the
//   library and so drop it).
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

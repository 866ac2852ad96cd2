#!/bin/bash
# Boots this machine's systemd as PID 1 of its own namespaces, for the
# deploy-file tests that start the systemd units for real
# (tests/tests/deploy_files.rs). Run by the test inside new PID, mount, UTS,
# IPC, network and cgroup namespaces (unshare), as root, with one argument:
# a folder holding the empty folders layers/ and root/.
#
# Nothing it does reaches the machine: the root file system is an overlay
# of / whose writes go to a tmpfs (systemd's boot services, such as
# systemd-tmpfiles emptying /tmp, act on the overlay), /proc/sys and /sys
# are read-only, /dev holds only the basic devices (no udev), the network
# is the namespace's own loopback, cgroups are those below the cgroup the
# test made for it, and the services a container must not run (udev,
# kernel modules, sysctl, the clock, timers, sockets of the machine's
# services) are masked in the overlay. The test halts it with SIGRTMIN+3.
set -euo pipefail
dir=$1
mount --make-rprivate /
mount -t tmpfs -o mode=0755 tmpfs "$dir/layers"
mkdir -p "$dir/layers/upper" "$dir/layers/work"
mount -t overlay overlay \
    -o "lowerdir=/,upperdir=$dir/layers/upper,workdir=$dir/layers/work" "$dir/root"
root=$dir/root
mount -t proc proc "$root/proc"
mount --bind "$root/proc/sys" "$root/proc/sys"
mount -o remount,bind,ro "$root/proc/sys"
mount -t sysfs -o ro sysfs "$root/sys"
mount -t cgroup2 cgroup2 "$root/sys/fs/cgroup"
mount -t tmpfs -o mode=0755 tmpfs "$root/dev"
for device in null zero full random urandom tty; do
    touch "$root/dev/$device"
    mount --bind "/dev/$device" "$root/dev/$device"
done
mkdir -p "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
mount -t tmpfs tmpfs "$root/dev/shm"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"
mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"

# Masked in the overlay: what sysinit.target, sockets.target and
# timers.target would start besides the journal.
units=$root/etc/systemd/system
for wants in /lib/systemd/system/sysinit.target.wants /etc/systemd/system/sysinit.target.wants \
    /lib/systemd/system/sockets.target.wants /etc/systemd/system/sockets.target.wants \
    /lib/systemd/system/timers.target.wants /etc/systemd/system/timers.target.wants; do
    [ -d "$wants" ] || continue
    for unit in "$wants"/*; do
        name=$(basename "$unit")
        case $name in
            systemd-journald.service | systemd-journald*.socket | *.target) continue ;;
        esac
        rm -f "$units/$name"
        ln -s /dev/null "$units/$name"
    done
done
# The target booted: the basic system and nothing else; the test starts
# the units it checks with systemctl.
cat > "$units/archway-test.target" <<'TARGET'
[Unit]
Description=Archway deploy-file test
Requires=basic.target
After=basic.target
TARGET

ip link set lo up
mkdir -p "$root/oldroot"
cd "$root"
pivot_root . oldroot
umount -l /oldroot
# No loading kernel modules, no setting the clock.
exec env -i container=archway-test "$(command -v capsh)" --drop=cap_sys_module,cap_sys_time -- \
    -c 'exec /lib/systemd/systemd --unit=archway-test.target'

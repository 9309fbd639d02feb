// <linux/kvm.h> for C++. Include this instead of <linux/kvm.h>, everywhere.
//
// Debian 12's kernel headers (linux-libc-dev 6.1) declare the variable-length
// KVM structs with __DECLARE_FLEX_ARRAY, which wraps the array in a struct that
// holds an empty struct. An empty struct has size 0 in C but 1 in C++, so in C++
// kvm_cpuid2, kvm_msrs, kvm_msr_list, kvm_irq_routing, kvm_signal_mask... get
// 4 or 8 bytes of padding before their entries. The ioctl numbers encode the
// struct size, so KVM_GET_SUPPORTED_CPUID, KVM_SET_CPUID2, KVM_SET_MSRS and
// KVM_SET_GSI_ROUTING fail with EINVAL and the entries sit at the wrong offset.
// (Linux 6.3 fixed the macro for C++ the same way as below.)
#pragma once
// The zero-length array below is a GNU extension; this header is treated as a
// system header so that -Wpedantic does not flag its uses inside <linux/kvm.h>.
#pragma GCC system_header

#include <linux/stddef.h>

#if defined(_LINUX_KVM_H)
#error "<linux/kvm.h> was included before demo-vmm/kvm/kvm_uapi.hpp: its C++ struct layouts are wrong"
#endif
#undef __DECLARE_FLEX_ARRAY
#define __DECLARE_FLEX_ARRAY(TYPE, NAME) TYPE NAME[0]
#include <linux/kvm.h>

static_assert(sizeof(kvm_cpuid2) == 8, "kvm_cpuid2 must have the kernel's layout");
static_assert(sizeof(kvm_msrs) == 8, "kvm_msrs must have the kernel's layout");
static_assert(sizeof(kvm_irq_routing) == 8, "kvm_irq_routing must have the kernel's layout");
static_assert(KVM_GET_SUPPORTED_CPUID == 0xc008ae05, "ioctl number must match the kernel's");

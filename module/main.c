// SPDX-License-Identifier: GPL-2.0
/*
 * lol: Linux-on-Linux hypervisor assist.
 *
 * The misc device /dev/lol and its system-level ioctls. Guest and vcpu fds
 * live in guest.c and vcpu.c, the run loop in run.c.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/mm.h>

#include "lol.h"

unsigned int lol_max_vcpus = 64;
module_param_named(max_vcpus, lol_max_vcpus, uint, 0444);
MODULE_PARM_DESC(max_vcpus, "vCPUs per guest (1..1024)");

unsigned int lol_max_guests_per_user = 64;
module_param_named(max_guests_per_user, lol_max_guests_per_user, uint, 0644);
MODULE_PARM_DESC(max_guests_per_user, "guests one user may hold open");

unsigned int lol_max_as = 1024;
module_param_named(max_as, lol_max_as, uint, 0644);
MODULE_PARM_DESC(max_as, "address spaces per guest");

/*
 * Pages mapped per AS: each is a table entry (about 9 bytes of kernel
 * memory, charged to the monitor) and a reference on a phys page, which
 * stays in memory while mapped. 4 GiB of guest memory per AS.
 */
unsigned int lol_max_mappings = 1U << 20;
module_param_named(max_mappings, lol_max_mappings, uint, 0644);
MODULE_PARM_DESC(max_mappings, "pages mapped per address space");

static bool lol_run_ok;

bool lol_run_supported(void)
{
	return lol_run_ok;
}

static long lol_check_extension(unsigned long cap)
{
	switch (cap) {
	case LOL_CAP_MAX_VCPUS:
		return lol_max_vcpus;
	case LOL_CAP_MAX_GUESTS:
		return lol_max_guests_per_user;
	case LOL_CAP_RUN:
	case LOL_CAP_KICK:
	case LOL_CAP_IMMEDIATE_EXIT:
	case LOL_CAP_REFLECT:
		return lol_run_ok;
	case LOL_CAP_SINGLESTEP:
		return lol_run_ok && (LOL_ARCH_RUN_FLAGS & LOL_RUN_SINGLESTEP);
	case LOL_CAP_SYSCALL_RANGES:
		return lol_run_ok ? LOL_MAX_SYSCALL_RANGES : 0;
	case LOL_CAP_MAX_AS:
		return lol_run_ok ? lol_max_as : 0;
	case LOL_CAP_AS_BATCH:
		return lol_run_ok ? LOL_AS_BATCH_MAX : 0;
	case LOL_CAP_MAX_MAPPINGS:
		return lol_run_ok ? lol_max_mappings : 0;
	case LOL_CAP_FPU:
		return lol_run_ok ? lol_arch_fpu_size() : 0;
	case LOL_CAP_FPTRAP:
		return lol_run_ok ? lol_arch_fptrap_banks() : 0;
	default:
		return 0;
	}
}

static long lol_dev_do_ioctl(unsigned int cmd, unsigned long arg)
{
	switch (cmd) {
	case LOL_GET_API_VERSION:
		return arg ? -EINVAL : LOL_API_VERSION;
	case LOL_CHECK_EXTENSION:
		return lol_check_extension(arg);
	case LOL_CREATE_GUEST:
		return lol_guest_create(arg);
	case LOL_GET_VCPU_MMAP_SIZE:
		return arg ? -EINVAL : PAGE_SIZE;
	default:
		return -ENOTTY;
	}
}

static long lol_dev_ioctl(struct file *file, unsigned int cmd,
			  unsigned long arg)
{
	long ret;

	/* A guest's NATIVE syscalls may not drive lol (see lol_in_guest). */
	if (lol_in_guest())
		return -EPERM;
	ret = lol_dev_do_ioctl(cmd, arg);
	if (unlikely(ret < 0))
		lol_nl_bad_input(NULL, NULL, cmd, ret);
	return ret;
}

static const struct file_operations lol_dev_fops = {
	.owner		= THIS_MODULE,
	.unlocked_ioctl	= lol_dev_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
	.llseek		= noop_llseek,
};

static struct miscdevice lol_dev = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "lol",
	.fops	= &lol_dev_fops,
	.mode	= 0660,
};

static int __init lol_init(void)
{
	int ret;

	if (lol_max_vcpus < 1 || lol_max_vcpus > 1024) {
		pr_err("max_vcpus=%u out of range 1..1024\n", lol_max_vcpus);
		return -EINVAL;
	}

	ret = lol_pt_init();
	if (ret)
		return ret;

	/*
	 * Without the run loop hooks the device still works for the
	 * guest/vcpu fd API; LOL_CAP_RUN then reads 0.
	 */
	ret = lol_run_init();
	if (ret)
		pr_warn("run loop unavailable (%d): LOL_CAP_RUN is 0\n", ret);
	lol_run_ok = !ret;

	ret = lol_nl_init();
	if (ret)
		goto err_run;
	ret = misc_register(&lol_dev);
	if (ret)
		goto err_nl;
	return 0;

err_nl:
	lol_nl_exit();
err_run:
	if (lol_run_ok)
		lol_run_exit();
	return ret;
}

static void __exit lol_exit(void)
{
	misc_deregister(&lol_dev);
	lol_nl_exit();
	if (lol_run_ok)
		lol_run_exit();
}

module_init(lol_init);
module_exit(lol_exit);

MODULE_LICENSE("GPL");
MODULE_VERSION(LOL_VERSION);
MODULE_AUTHOR("lol developers");
MODULE_DESCRIPTION("Linux-on-Linux hypervisor assist: guests as host processes");

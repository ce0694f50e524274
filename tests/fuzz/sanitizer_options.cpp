// SPDX-License-Identifier: GPL-2.0
// Sanitizer defaults baked into every fuzz target; the environment still
// overrides them.  Unlike the host tests, no allocator_may_return_null:
// nothing here asks for absurd sizes, so a huge malloc is a bug to report.
extern "C" {

const char *__asan_default_options()
{
	return "detect_leaks=1:strict_string_checks=1";
}

const char *__ubsan_default_options()
{
	return "print_stacktrace=1:halt_on_error=1";
}

} // extern "C"

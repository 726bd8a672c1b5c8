/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Helpers shared by the client tests. */
#pragma once

#include <string>

#include <glib.h>

/* Binds the value first: g_assert_cmpstr would keep a dangling c_str (). */
#define assert_str_eq(actual, expected)                                      \
  do {                                                                       \
    const std::string _actual = (actual);                                    \
    g_assert_cmpstr (_actual.c_str (), ==, (expected));                      \
  } while (0)

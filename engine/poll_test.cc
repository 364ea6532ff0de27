// Op::prepare_poll (IORING_OP_POLL_ADD): readiness is reported as the revents mask, a poll
// waits until the fd is ready, cancel() ends it with -ECANCELED, and a bad fd is -EBADF.
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <thread>

#include "engine/op.h"
#include "engine/runtime.h"
#include "engine/shard.h"
#include "engine/test_support.h"

namespace mta::engine {
namespace {

using namespace std::chrono_literals;
using testing::Signal;
using testing::test_options;

TEST(PollOp, ReportsReadinessAsRevents) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  std::atomic<int> readable_result{1};
  std::atomic<int> writable_result{1};
  Signal armed;
  Signal readable_done;
  Signal writable_done;
  Op readable([&](int result) {
    readable_result = result;
    readable_done.notify();
  });
  Op writable([&](int result) {
    writable_result = result;
    writable_done.notify();
  });
  Runtime runtime(test_options(1));
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    readable.prepare_poll(pair[0], POLLIN);
                    shard.submit(readable);
                    writable.prepare_poll(pair[0], POLLOUT);
                    shard.submit(writable);
                    armed.notify();
                  })
                  .has_value());
  ASSERT_TRUE(armed.wait());
  // An empty socket is writable at once, and not readable until the peer writes.
  ASSERT_TRUE(writable_done.wait());
  EXPECT_GT(writable_result.load(), 0);
  EXPECT_NE(writable_result.load() & POLLOUT, 0);
  EXPECT_FALSE(readable_done.wait(100ms));
  ASSERT_EQ(::write(pair[1], "x", 1), 1);
  ASSERT_TRUE(readable_done.wait());
  EXPECT_NE(readable_result.load() & POLLIN, 0);
  runtime.request_stop();
  runtime.wait();
  ::close(pair[0]);
  ::close(pair[1]);
}

TEST(PollOp, CancelEndsAPendingPollAndBadFdIsAnError) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  std::atomic<int> cancelled_result{1};
  std::atomic<int> bad_result{1};
  Signal cancelled_done;
  Signal bad_done;
  Op pending([&](int result) {
    cancelled_result = result;
    cancelled_done.notify();
  });
  Op bad([&](int result) {
    bad_result = result;
    bad_done.notify();
  });
  Runtime runtime(test_options(1));
  ASSERT_TRUE(runtime
                  .start([&](Shard& shard) {
                    pending.prepare_poll(pair[0], POLLIN);
                    shard.submit(pending);
                    shard.schedule(20ms, [&, s = &shard] { s->cancel(pending); });
                    bad.prepare_poll(-1, POLLIN);
                    shard.submit(bad);
                  })
                  .has_value());
  ASSERT_TRUE(cancelled_done.wait());
  ASSERT_TRUE(bad_done.wait());
  runtime.request_stop();
  runtime.wait();
  EXPECT_EQ(cancelled_result.load(), -ECANCELED);
  EXPECT_EQ(bad_result.load(), -EBADF);
  ::close(pair[0]);
  ::close(pair[1]);
}

}  // namespace
}  // namespace mta::engine

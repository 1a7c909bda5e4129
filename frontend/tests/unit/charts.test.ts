import { describe, expect, it } from "vitest";
import { scoreLayout } from "@/components/charts";
import { scorePoints } from "@/components/StudentSummary";

describe("scorePoints", () => {
  it("keeps graded results, as grades on 20, oldest first", () => {
    const points = scorePoints([
      { attemptId: 3, assessmentId: 1, title: "C", status: "graded", score: 7, maxScore: 8, submittedAt: "2026-11-20T10:00:00Z" },
      { attemptId: 1, assessmentId: 1, title: "A", status: "graded", score: 3, maxScore: 4, submittedAt: "2026-11-02T10:00:00Z" },
      { attemptId: 2, assessmentId: 2, title: "B", status: "submitted", score: null, maxScore: 10, submittedAt: "2026-11-10T10:00:00Z" },
      { attemptId: 4, assessmentId: 3, title: "D", status: "graded", score: 0, maxScore: 0, submittedAt: "2026-11-21T10:00:00Z" },
    ]);
    expect(points).toEqual([
      { date: "2026-11-02T10:00:00Z", on20: 15, label: "A" },
      { date: "2026-11-20T10:00:00Z", on20: 17.5, label: "C" },
    ]);
  });
});

describe("scoreLayout", () => {
  it("puts 0/20 at the bottom, 20/20 at the top, and clamps", () => {
    const { x, y } = scoreLayout(3);
    expect(y(20)).toBeLessThan(y(10));
    expect(y(10)).toBeLessThan(y(0));
    expect(y(25)).toBe(y(20));
    expect(y(-3)).toBe(y(0));
    expect(x(0)).toBeLessThan(x(1));
    expect(x(1)).toBeLessThan(x(2));
  });
  it("centres a single point", () => {
    const one = scoreLayout(1);
    const three = scoreLayout(3);
    expect(one.x(0)).toBeCloseTo(three.x(1));
  });
});

describe("activityBars", () => {
  it("labels each week by its Monday, oldest first, zeros kept", async () => {
    const { activityBars } = await import("@/components/StudentSummary");
    expect(
      activityBars([
        { weekStart: "2026-11-23", sectionsCompleted: 0 },
        { weekStart: "2026-11-30", sectionsCompleted: 4 },
      ]),
    ).toEqual([
      { label: "23 nov.", value: 0 },
      { label: "30 nov.", value: 4 },
    ]);
  });
});

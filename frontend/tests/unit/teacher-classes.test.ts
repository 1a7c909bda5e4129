import { describe, expect, it } from "vitest";
import { currentSchoolYear, heatClass, progressGrid } from "@/app/enseignant/classes";

describe("teacher classes helpers", () => {
  it("gives the school year starting in August", () => {
    expect(currentSchoolYear(new Date(2026, 11, 2))).toBe("2026-2027");
    expect(currentSchoolYear(new Date(2027, 2, 10))).toBe("2026-2027");
    expect(currentSchoolYear(new Date(2027, 7, 20))).toBe("2027-2028");
  });

  it("builds the students × courses grid and each student's last activity", () => {
    const grid = progressGrid([
      { studentId: 1, studentName: "A", courseId: 7, courseTitle: "Récursivité", progressPercentage: 50, lastAccessed: "2026-12-01T10:00:00Z" },
      { studentId: 1, studentName: "A", courseId: 3, courseTitle: "Arbres", progressPercentage: 0, lastAccessed: "2026-12-02T09:00:00Z" },
      { studentId: 2, studentName: "B", courseId: 7, courseTitle: "Récursivité", progressPercentage: 100, lastAccessed: null },
    ]);
    expect(grid.courses.map((c) => c.title)).toEqual(["Arbres", "Récursivité"]);
    expect(grid.cell(1, 7)).toBe(50);
    expect(grid.cell(2, 3)).toBeNull();
    expect(grid.lastActivity(1)).toBe("2026-12-02T09:00:00Z");
    expect(grid.lastActivity(2)).toBeNull();
  });

  it("shades the heatmap by progress", () => {
    expect(heatClass(0)).toContain("bg-slate-100");
    expect(heatClass(10)).toContain("bg-emerald-100");
    expect(heatClass(50)).toContain("bg-emerald-300");
    expect(heatClass(80)).toContain("bg-emerald-500");
    expect(heatClass(100)).toContain("bg-emerald-700");
  });
});

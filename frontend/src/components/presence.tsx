"use client";

import { useEffect, useState } from "react";
import { applyPresenceEvent, onlineFromList, type Online } from "@/lib/hub/presence";
import { useNotifications } from "./notifications";

/**
 * Who else is online in `channel` (class:{id}), live: the list the hub sends on
 * subscribing (or when asked), then join / leave / activity events. Subscribing makes
 * this user appear online there too. Empty while the hub is not connected.
 */
export function usePresence(channel: string | null, me: number | undefined): Online {
  const { hub, status } = useNotifications();
  const [online, setOnline] = useState<Online>({});
  useEffect(() => {
    if (!hub || !channel || me === undefined) return;
    hub.subscribe(channel);
    const stop = hub.listen((frame) => {
      if (frame.type === "ready") setOnline({});
      else if (frame.type === "subscribed" && frame.channel === channel) setOnline(onlineFromList(frame.presence, me));
      else if (frame.type === "presence" && frame.channel === channel) setOnline(onlineFromList(frame.users, me));
      else if (frame.type === "event" && frame.topic === "presence" && frame.channel === channel)
        setOnline((prev) => applyPresenceEvent(prev, frame.data, me));
    });
    // Already subscribed by another page of this tab: ask for the list.
    hub.sendFrame({ type: "presence", channel });
    return () => {
      stop();
      hub.unsubscribe(channel);
    };
  }, [hub, channel, me]);
  return status === "online" ? online : {};
}

/** Tells the class's teacher (live class view) what this student is reading. */
export function useReportActivity(channels: readonly string[], courseId: number | null, sectionId: string | null): void {
  const { hub, status } = useNotifications();
  const key = channels.join(",");
  useEffect(() => {
    if (!hub || status !== "online" || courseId === null) return;
    for (const channel of key ? key.split(",") : []) {
      hub.sendFrame({ type: "activity", channel, courseId, ...(sectionId ? { sectionId } : {}) });
    }
  }, [hub, status, key, courseId, sectionId]);
}

#!/usr/bin/env python3
"""Drives Sluice's web console in headless Chromium (selenium); the console's browser tests run it.

    console-browser.py pages BASE_URL SCREENSHOT_DIR EXPECTATIONS_JSON
        Visits every page and checks each shows what it must (EXPECTATIONS_JSON: {"pipelines": [...],
        "executions": [...]}, the pipelines and execution ids the server ran); a screenshot of each page.
    console-browser.py approval BASE_URL SCREENSHOT_DIR EXECUTION_ID STEP
        Opens the execution page, sees STEP waiting, approves it in the inbox (another tab) and sees the first
        tab's graph turn green without a reload.
    console-browser.py live BASE_URL SCREENSHOT_DIR EXECUTION_ID GO_FILE ENDPOINT
        Opens the page of EXECUTION_ID, whose step Speak printed "first line" and waits for GO_FILE; creates the file
        and sees "second line" appear in the step's log without a reload. Then opens the endpoints page, sends
        requests to ENDPOINT's production stage and sees its traffic row count them without a reload.

Prints one line per check; exits 1 with the reason on the first failure. Chromium's console must stay free of
errors (a Content-Security-Policy violation is one).
"""
import json
import os
import sys
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


def browser():
    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,900"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)


class Check:
    def __init__(self, driver, base, shots):
        self.driver, self.base, self.shots, self.count = driver, base, shots, 0

    def open(self, path, name, *texts):
        self.driver.get(self.base + path)
        self.see(name, *texts)

    def see(self, name, *texts):
        body = self.driver.find_element(By.TAG_NAME, "body").text
        source = self.driver.page_source
        for text in texts:
            if text not in body and text not in source:
                self.fail(f"{name}: the page does not show {text!r}:\n{body[:2000]}")
        self.shot(name)
        self.no_console_errors(name)
        print(f"ok {name}: shows {', '.join(repr(t) for t in texts)}")

    def shot(self, name):
        self.count += 1
        path = os.path.join(self.shots, f"{self.count:02d}-{name}.png")
        self.driver.save_screenshot(path)

    def no_console_errors(self, name):
        errors = [entry for entry in self.driver.get_log("browser") if entry["level"] == "SEVERE"]
        if errors:
            self.fail(f"{name}: the browser reported errors: {errors}")

    def fail(self, message):
        self.shot("failure")
        print("FAIL " + message)
        sys.exit(1)


def pages(check, expectations):
    driver = check.driver
    check.open("/", "root-leads-to-executions", "Executions")
    check.open("/console/executions", "executions", *expectations["pipelines"], *expectations["executions"])
    check.open("/console/pipelines", "pipelines", *expectations["pipelines"])
    graphs = driver.find_elements(By.CSS_SELECTOR, "svg.pipeline-graph g.node")
    if len(graphs) < len(expectations["pipelines"]):
        check.fail(f"pipelines: only {len(graphs)} graph nodes drawn")
    for name in expectations["pipelines"]:
        check.open("/console/pipelines/" + name, "pipeline-" + name, name, "Triggers", "Parameters", "Spec")
        check.open("/console/executions?pipeline=" + name, "executions-of-" + name, name)
    for execution in expectations["executions"]:
        check.open("/console/executions/" + execution, "execution-" + execution, execution, "Steps", "Attempts",
                   "Events")
        nodes = driver.find_elements(By.CSS_SELECTOR, "svg.pipeline-graph g.node")
        done = [node.get_attribute("data-step") for node in nodes
                if "st-succeeded" in node.get_attribute("class")]
        if not done:
            check.fail(f"execution {execution}: no succeeded step in the graph")
        print(f"ok execution {execution}: succeeded steps drawn green: {', '.join(done)}")
    check.open("/console/executions?status=succeeded", "executions-succeeded", *expectations["executions"])
    check.open("/console/approvals", "approvals", "Approvals")
    check.open("/console/registry", "registry", *expectations["groups"])
    for group in expectations["groups"]:
        check.open("/console/registry/" + group, "registry-" + group, group, "v1", "Audit log", "Lineage")
    check.open("/console/endpoints", "endpoints", "API keys", *expectations["keys"])
    check.open("/console/monitoring", "monitoring", "Schedules", "Runs")
    check.open("/console/features", "features", "Feature store")


def approval(check, execution, step):
    driver = check.driver
    # A click navigates: an element read just before belongs to the old page, so a look is simply tried again.
    wait = WebDriverWait(driver, 30, poll_frequency=0.05,
                         ignored_exceptions=[NoSuchElementException, StaleElementReferenceException])
    node = f'svg.pipeline-graph g.node[data-step="{step}"]'
    check.open("/console/executions/" + execution, "execution-waiting", execution, step)
    wait.until(lambda d: "st-waiting" in d.find_element(By.CSS_SELECTOR, node).get_attribute("class"))
    print(f"ok the execution page shows {step} waiting")
    driver.execute_script("window.sluiceMarker = 'same page';")
    page = driver.current_window_handle
    driver.switch_to.new_window("tab")
    check.open("/console/approvals", "approvals-inbox", step, execution)
    driver.find_element(By.CSS_SELECTOR, f'button.approve[data-approve="{step}"]').click()
    wait.until(lambda d: "Approved" in d.find_element(By.TAG_NAME, "body").text)
    check.see("approved", "Approved step")
    driver.switch_to.window(page)
    wait.until(lambda d: d.find_element(By.ID, "execution-status").text == "succeeded")
    nodes = driver.find_elements(By.CSS_SELECTOR, "svg.pipeline-graph g.node")
    colours = {n.get_attribute("data-step"): n.get_attribute("class") for n in nodes}
    if not all("st-succeeded" in c for c in colours.values()):
        check.fail(f"not every step turned green: {colours}")
    same_page(check, "the decision")
    if driver.find_element(By.CSS_SELECTOR, ".actions").is_displayed():
        check.fail("the finished execution still offers the running execution's actions")
    check.see("execution-green", "succeeded")
    print("ok the graph turned green without a reload: " + ", ".join(sorted(colours)))


def same_page(check, what):
    if check.driver.execute_script("return window.sluiceMarker;") != "same page":
        check.fail(f"the page was reloaded; {what} should have arrived over server-sent events")


def live(check, execution, go, endpoint):
    driver = check.driver
    wait = WebDriverWait(driver, 30, poll_frequency=0.05,
                         ignored_exceptions=[NoSuchElementException, StaleElementReferenceException])
    log = 'pre[data-log="Speak/1/stdout.log"]'
    check.open("/console/executions/" + execution, "execution-running", execution, "Speak")
    wait.until(lambda d: "first line" in d.find_element(By.CSS_SELECTOR, log).text)
    driver.execute_script("window.sluiceMarker = 'same page';")
    open(go, "w").close()
    wait.until(lambda d: "second line" in d.find_element(By.CSS_SELECTOR, log).text)
    attempt = 'tr[data-attempt="Speak/1"] '
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, attempt + '[data-field="status"]').text == "succeeded")
    if not driver.find_element(By.CSS_SELECTOR, attempt + '[data-field="duration"]').text:
        check.fail("the finished attempt shows no duration")
    same_page(check, "the new log line and the attempt's end")
    check.see("execution-log-grew", "first line", "second line")
    print("ok the running step's new log line and its attempt's end appeared without a reload")

    check.open("/console/endpoints", "endpoints-before-traffic", "Traffic", endpoint)
    driver.execute_script("window.sluiceMarker = 'same page';")
    count = 7
    for _ in range(count):
        request = urllib.request.Request(f"{check.base}/endpoints/{endpoint}/production/invocations", data=b"3\n",
                                         headers={"Content-Type": "text/csv"}, method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            if answer.status != 200:
                check.fail(f"invoking {endpoint} answered {answer.status}")
    row = f'tr[data-traffic="{endpoint}/AllTraffic"]'
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, row + ' [data-field="requests"]').text == str(count))
    wait.until(lambda d: d.find_element(By.CSS_SELECTOR, row + ' [data-field="rate"]').text.endswith("/s"))
    latency = driver.find_element(By.CSS_SELECTOR, row + ' [data-field="latency"]').text
    if not latency.endswith(" ms"):
        check.fail(f"the traffic row shows no latency: {latency!r}")
    same_page(check, "the traffic figures")
    check.see("endpoints-traffic", endpoint, "AllTraffic")
    print(f"ok the endpoints page counted {count} requests without a reload (latency {latency})")


def main():
    mode, base, shots = sys.argv[1], sys.argv[2].rstrip("/"), sys.argv[3]
    os.makedirs(shots, exist_ok=True)
    print(f"screenshots: {shots}")
    driver = browser()
    check = Check(driver, base, shots)
    try:
        if mode == "pages":
            pages(check, json.loads(sys.argv[4]))
        elif mode == "approval":
            approval(check, sys.argv[4], sys.argv[5])
        elif mode == "live":
            live(check, sys.argv[4], sys.argv[5], sys.argv[6])
        else:
            check.fail(f"unknown mode {mode!r}; use pages, approval or live")
    except Exception as error:  # a timeout or a missing element: say where, with the page as it was
        body = driver.find_element(By.TAG_NAME, "body").text[:2000]
        check.fail(f"{type(error).__name__} at {driver.current_url}: {error}\n{body}")
    finally:
        driver.quit()
    print("passed")


if __name__ == "__main__":
    main()

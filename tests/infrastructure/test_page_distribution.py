"""template.yaml and edge.yaml, issue 14 item 11: the page deployed behind CloudFront with the API on the same origin.

A private bucket only the distribution reads; /v1/* to the API, never cached, with the viewer's address and the
origin secret; the page's security headers (a CSP without 'unsafe-inline'); the WAF web ACL of the us-east-1 stack;
the API's own address disabled behind a custom domain.
"""

from __future__ import annotations

import re

import pytest

from epay.edge import ORIGIN_VERIFY_HEADER, VIEWER_ADDRESS_HEADER
from epay.gateways import fatourati, m2t
from epay_local.template import PROJECT_ROOT, load_template, routes

pytestmark = pytest.mark.infrastructure

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
PARAMETERS = TEMPLATE["Parameters"]
EDGE = load_template(PROJECT_ROOT / "edge.yaml")
OPERATIONS = (PROJECT_ROOT / "docs/operations.md").read_text(encoding="utf-8")
WEB = PROJECT_ROOT / "web"

DISTRIBUTION = RESOURCES["PageDistribution"]["Properties"]["DistributionConfig"]
ORIGINS = {origin["Id"]: origin for origin in DISTRIBUTION["Origins"]}
CACHING_DISABLED = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad"  # CloudFront's managed CachingDisabled policy
API_FUNCTIONS = sorted({route.function for route in routes()})


def evaluate(value, parameters):
    """A template value with its conditions, Refs to parameters, Select/Split and Subs of parameters resolved."""
    if isinstance(value, list):
        return [evaluate(item, parameters) for item in value]
    if not isinstance(value, dict):
        return value
    if "Ref" in value and value["Ref"] in parameters:
        return parameters[value["Ref"]]
    if "Fn::Equals" in value:
        left, right = evaluate(value["Fn::Equals"], parameters)
        return left == right
    if "Fn::Not" in value:
        return not evaluate(value["Fn::Not"][0], parameters)
    if "Fn::And" in value:
        return all(evaluate(value["Fn::And"], parameters))
    if "Fn::Or" in value:
        return any(evaluate(value["Fn::Or"], parameters))
    if "Fn::If" in value:
        condition, when_true, when_false = value["Fn::If"]
        chosen = when_true if evaluate(TEMPLATE["Conditions"][condition], parameters) else when_false
        return evaluate(chosen, parameters)
    if "Fn::Split" in value:
        separator, text = value["Fn::Split"]
        return evaluate(text, parameters).split(separator)
    if "Fn::Select" in value:
        index, items = value["Fn::Select"]
        return evaluate(items, parameters)[int(index)]
    if "Fn::Sub" in value:
        text, names = (value["Fn::Sub"], {}) if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"]
        known = {**parameters, **{name: evaluate(item, parameters) for name, item in names.items()}}
        return re.sub(r"\$\{([A-Za-z0-9]+)\}", lambda m: str(known.get(m[1], m[0])), text)
    return {key: evaluate(item, parameters) for key, item in value.items()}


DEFAULTS = {name: parameter.get("Default") for name, parameter in PARAMETERS.items()}
WITH_DOMAINS = {
    **DEFAULTS,
    "Stage": "prod",
    "ApiDomainName": "origin.epaiement.portnet.ma",
    "ApiCertificateArn": "arn:aws:acm:eu-west-3:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-000000000001",
    "PageDomainName": "epaiement.portnet.ma",
    "PageCertificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-000000000002",
}


def allowed(parameter, value):
    return re.fullmatch(PARAMETERS[parameter]["AllowedPattern"], value) is not None


def statements(policy_resource):
    return RESOURCES[policy_resource]["Properties"]["PolicyDocument"]["Statement"]


# -- the bucket: private, encrypted, versioned, read by the distribution only --------------------------------------


def test_the_page_bucket_blocks_every_public_access_and_is_encrypted_and_versioned():
    bucket = RESOURCES["PageBucket"]["Properties"]
    assert bucket["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    (encryption,) = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}
    # No ACL can grant anything: the bucket owner owns every object and ACLs are off.
    assert bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert "WebsiteConfiguration" not in bucket


def test_only_this_stack_s_distribution_may_read_the_page_and_nothing_else_is_allowed():
    allows = [statement for statement in statements("PageBucketPolicy") if statement["Effect"] == "Allow"]
    assert allows == [
        {
            "Sid": "ReadByTheDistributionOnly",
            "Effect": "Allow",
            "Principal": {"Service": "cloudfront.amazonaws.com"},
            "Action": ["s3:GetObject"],
            "Resource": {"Fn::Sub": "${PageBucket.Arn}/*"},
            "Condition": {
                "StringEquals": {
                    "AWS:SourceArn": {
                        "Fn::Sub": "arn:${AWS::Partition}:cloudfront::${AWS::AccountId}:distribution/${PageDistribution}"
                    }
                }
            },
        }
    ]


@pytest.mark.parametrize("policy", ["PageBucketPolicy", "EdgeLogBucketPolicy"])
def test_the_buckets_refuse_requests_without_tls(policy):
    (deny,) = [statement for statement in statements(policy) if statement["Effect"] == "Deny"]
    assert deny["Principal"] == "*"
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": False}}


def test_the_distribution_reads_the_bucket_through_origin_access_control():
    access = RESOURCES["PageOriginAccessControl"]["Properties"]["OriginAccessControlConfig"]
    assert (access["OriginAccessControlOriginType"], access["SigningBehavior"], access["SigningProtocol"]) == (
        "s3",
        "always",
        "sigv4",
    )
    page = ORIGINS["page"]
    assert page["DomainName"] == {"Fn::GetAtt": ["PageBucket", "RegionalDomainName"]}
    assert page["OriginAccessControlId"] == {"Fn::GetAtt": ["PageOriginAccessControl", "Id"]}
    assert page["S3OriginConfig"] == {"OriginAccessIdentity": ""}, "no legacy origin access identity"


def test_the_distribution_logs_every_request_to_the_edge_log_bucket():
    assert DISTRIBUTION["Logging"]["Bucket"] == {"Fn::GetAtt": ["EdgeLogBucket", "DomainName"]}
    assert DISTRIBUTION["Logging"]["IncludeCookies"] is False
    # CloudFront's standard logs are delivered with the bucket ACL: ACLs must be enabled there (and only there).
    log_bucket = RESOURCES["EdgeLogBucket"]["Properties"]
    assert log_bucket["OwnershipControls"] == {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    assert all(log_bucket["PublicAccessBlockConfiguration"].values())
    (rule,) = log_bucket["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == 365


# -- caching -----------------------------------------------------------------------------------------------------


def test_the_page_is_served_compressed_over_https_and_cached_as_the_bucket_says():
    default = DISTRIBUTION["DefaultCacheBehavior"]
    assert default["TargetOriginId"] == "page"
    assert default["ViewerProtocolPolicy"] == "redirect-to-https"
    assert default["AllowedMethods"] == ["GET", "HEAD"]
    assert default["Compress"] is True
    assert default["CachePolicyId"] == {"Ref": "PageCachePolicy"}
    assert DISTRIBUTION["DefaultRootObject"] == "index.html"
    policy = RESOURCES["PageCachePolicy"]["Properties"]["CachePolicyConfig"]
    # MinTTL 0: index.html's no-cache is honoured; the release's files say max-age a year themselves.
    assert (policy["MinTTL"], policy["MaxTTL"]) == (0, 31536000)
    key = policy["ParametersInCacheKeyAndForwardedToOrigin"]
    assert key["EnableAcceptEncodingGzip"] is key["EnableAcceptEncodingBrotli"] is True
    # ?payment=<id> is the page's: one cached index.html whatever the query.
    assert key["QueryStringsConfig"] == {"QueryStringBehavior": "none"}
    assert key["HeadersConfig"] == {"HeaderBehavior": "none"}
    assert key["CookiesConfig"] == {"CookieBehavior": "none"}


def test_no_custom_error_page_can_replace_the_api_s_answers():
    # Custom error responses apply to every behaviour: a 404 page would replace PAYMENT_NOT_FOUND's problem+json.
    assert "CustomErrorResponses" not in DISTRIBUTION


def api_behaviour():
    (behaviour,) = [item for item in DISTRIBUTION["CacheBehaviors"] if item["PathPattern"] == "/v1/*"]
    return behaviour


def test_the_api_is_on_the_page_s_origin_never_cached_with_every_method():
    behaviour = api_behaviour()
    assert behaviour["TargetOriginId"] == "api"
    assert behaviour["CachePolicyId"] == CACHING_DISABLED
    assert set(behaviour["AllowedMethods"]) == {"GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"}
    # A gateway's POST must not be redirected (it would become a GET): refused over http instead.
    assert behaviour["ViewerProtocolPolicy"] == "https-only"
    assert behaviour["OriginRequestPolicyId"] == {"Ref": "ApiOriginRequestPolicy"}


def forwarded_headers():
    config = RESOURCES["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    assert config["HeadersConfig"]["HeaderBehavior"] == "whitelist"
    return {name.lower() for name in config["HeadersConfig"]["Headers"]}


def test_the_api_gets_every_header_its_code_reads_and_the_viewer_s_address_but_not_host():
    read_by_the_code = {
        "content-type",
        "idempotency-key",
        m2t.HEADER_NAME.lower(),
        fatourati.HEADER_NAME.lower(),
        VIEWER_ADDRESS_HEADER.lower(),
    }
    assert read_by_the_code <= forwarded_headers()
    # API Gateway routes by its own name: the viewer's Host would name the page's domain.
    assert "host" not in forwarded_headers()
    # The portal's cross-origin calls (PortalOrigin): API Gateway answers the preflight from these.
    assert {"origin", "access-control-request-method", "access-control-request-headers"} <= forwarded_headers()
    config = RESOURCES["ApiOriginRequestPolicy"]["Properties"]["OriginRequestPolicyConfig"]
    assert config["QueryStringsConfig"] == {"QueryStringBehavior": "all"}
    assert len(forwarded_headers()) <= 10, "CloudFront's default quota of headers in an origin request policy"


def test_the_idempotency_header_forwarded_is_the_one_the_payment_route_reads():
    source = (PROJECT_ROOT / "functions/create_payment/create_payment_handler.py").read_text(encoding="utf-8")
    (alias,) = re.findall(r'Header\(alias="([^"]+)"', source)
    assert alias.lower() in forwarded_headers()


# -- the origin secret, and the API's own address ---------------------------------------------------------------


def test_cloudfront_sends_the_api_the_current_origin_secret():
    (header,) = ORIGINS["api"]["OriginCustomHeaders"]
    assert header["HeaderName"] == ORIGIN_VERIFY_HEADER
    assert header["HeaderValue"] == {"Fn::Sub": "{{resolve:secretsmanager:${OriginVerifySecret}:SecretString:current}}"}
    secret = RESOURCES["OriginVerifySecret"]["Properties"]
    assert secret["GenerateSecretString"]["GenerateStringKey"] == "current"
    assert secret["GenerateSecretString"]["SecretStringTemplate"] == '{"previous": ""}'
    # Never a template parameter: it would show in the stack's parameters.
    assert not [name for name in PARAMETERS if "secret" in name.lower()]


def test_raising_the_generation_updates_the_distribution_so_it_reads_the_secret_again():
    assert "${OriginVerifyGeneration}" in DISTRIBUTION["Comment"]["Fn::Sub"]


@pytest.mark.parametrize("function", API_FUNCTIONS)
def test_every_function_behind_the_api_checks_the_origin_secret(function):
    properties = RESOURCES[function]["Properties"]
    assert properties["Environment"]["Variables"]["EPAY_ORIGIN_SECRET_ID"] == {"Ref": "OriginVerifySecret"}
    assert {"AWSSecretsManagerGetSecretValuePolicy": {"SecretArn": {"Ref": "OriginVerifySecret"}}} in properties[
        "Policies"
    ]


def test_the_origin_is_tls_only():
    api = ORIGINS["api"]["CustomOriginConfig"]
    assert api["OriginProtocolPolicy"] == "https-only"
    assert api["OriginSSLProtocols"] == ["TLSv1.2"]


def test_with_a_custom_domain_cloudfront_calls_it_and_the_execute_api_address_is_disabled():
    assert evaluate(RESOURCES["HttpApi"]["Properties"]["DisableExecuteApiEndpoint"], WITH_DOMAINS) is True
    assert evaluate(ORIGINS["api"]["DomainName"], WITH_DOMAINS) == "origin.epaiement.portnet.ma"
    assert evaluate(ORIGINS["api"]["OriginPath"], WITH_DOMAINS) == ""


def test_without_a_custom_domain_cloudfront_calls_the_execute_api_address_and_its_stage():
    assert evaluate(RESOURCES["HttpApi"]["Properties"]["DisableExecuteApiEndpoint"], DEFAULTS) is False
    assert evaluate(ORIGINS["api"]["DomainName"], DEFAULTS) == (
        "${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}"
    )
    assert evaluate(ORIGINS["api"]["OriginPath"], DEFAULTS) == "/dev"


# -- the page's name and certificate ------------------------------------------------------------------------------


def test_with_its_name_the_page_is_served_under_it_with_a_us_east_1_certificate_and_tls_1_2():
    assert evaluate(DISTRIBUTION["Aliases"], WITH_DOMAINS) == ["epaiement.portnet.ma"]
    assert evaluate(DISTRIBUTION["ViewerCertificate"], WITH_DOMAINS) == {
        "AcmCertificateArn": WITH_DOMAINS["PageCertificateArn"],
        "SslSupportMethod": "sni-only",
        "MinimumProtocolVersion": "TLSv1.2_2021",
    }
    assert evaluate(TEMPLATE["Outputs"]["PageUrl"]["Value"], WITH_DOMAINS) == "https://epaiement.portnet.ma"
    assert not allowed("PageCertificateArn", WITH_DOMAINS["ApiCertificateArn"]), "CloudFront reads us-east-1 only"


def failing_rules(parameters):
    return [
        name
        for name, rule in TEMPLATE["Rules"].items()
        if evaluate(rule.get("RuleCondition", True), parameters)
        and not all(evaluate(assertion["Assert"], parameters) for assertion in rule["Assertions"])
    ]


@pytest.mark.parametrize("given", ["PageDomainName", "PageCertificateArn"])
def test_the_page_s_name_and_its_certificate_are_given_together_or_not_at_all(given):
    parameters = {**WITH_DOMAINS, given: ""}
    assert len(failing_rules(parameters)) == 1
    assert failing_rules(WITH_DOMAINS) == []


def test_a_stage_with_its_own_name_disables_the_execute_api_address():
    without_api_domain = {**WITH_DOMAINS, "ApiDomainName": "", "ApiCertificateArn": ""}
    assert failing_rules(without_api_domain) == ["NamedPageHidesExecuteApi"]
    # A stage on *.cloudfront.net (no name of its own) may keep the execute-api address, behind the origin secret.
    assert failing_rules(DEFAULTS) == []


# -- the WAF web ACL (edge.yaml, us-east-1) --------------------------------------------------------------------------

EDGE_RESOURCES = EDGE["Resources"]
WEB_ACL = EDGE_RESOURCES["EdgeWebAcl"]["Properties"]
WEB_ACL_RULES = {rule["Name"]: rule for rule in WEB_ACL["Rules"]}


def test_the_distribution_is_behind_a_cloudfront_web_acl_of_us_east_1_given_at_every_deployment():
    assert DISTRIBUTION["WebACLId"] == {"Ref": "EdgeWebAclArn"}
    assert "Default" not in PARAMETERS["EdgeWebAclArn"], "no deployment without a web ACL"
    arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/epay-prod/0f1e2d3c-aaaa-bbbb-cccc-000000000003"
    assert allowed("EdgeWebAclArn", arn)
    assert not allowed("EdgeWebAclArn", arn.replace("us-east-1", "eu-west-3").replace("global", "regional"))
    assert EDGE["Outputs"]["EdgeWebAclArn"]["Value"] == {"Fn::GetAtt": ["EdgeWebAcl", "Arn"]}


def test_the_edge_stack_is_a_cloudfront_web_acl_and_refuses_any_region_but_us_east_1():
    assert WEB_ACL["Scope"] == "CLOUDFRONT"
    assert WEB_ACL["DefaultAction"] == {"Allow": {}}
    (assertion,) = EDGE["Rules"]["InUsEast1"]["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}


def test_a_rate_based_rule_blocks_an_address_past_its_budget_before_any_other_rule():
    rule = WEB_ACL_RULES["RateLimitPerAddress"]
    assert rule["Priority"] == min(item["Priority"] for item in WEB_ACL["Rules"])
    statement = rule["Statement"]["RateBasedStatement"]
    assert statement == {
        "Limit": {"Ref": "RateLimitPerFiveMinutes"},
        "EvaluationWindowSec": 300,
        "AggregateKeyType": "IP",
    }
    assert rule["Action"]["Block"]["CustomResponse"]["ResponseCode"] == 429
    # Well above what the service's own limits let one address do (60 lookups + 20 payments a minute).
    assert EDGE["Parameters"]["RateLimitPerFiveMinutes"]["Default"] >= 5 * (60 + 20)


@pytest.mark.parametrize(
    "group",
    ["AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet"],
)
def test_aws_managed_rule_groups_apply_to_everything_but_the_signed_gateway_callbacks(group):
    (rule,) = [
        rule for rule in WEB_ACL["Rules"] if rule["Statement"].get("ManagedRuleGroupStatement", {}).get("Name") == group
    ]
    statement = rule["Statement"]["ManagedRuleGroupStatement"]
    assert statement["VendorName"] == "AWS"
    assert rule["OverrideAction"] == {"None": {}}, "the group's own actions, not count-only"
    excluded = statement["ScopeDownStatement"]["NotStatement"]["Statement"]["ByteMatchStatement"]
    assert (excluded["FieldToMatch"], excluded["PositionalConstraint"], excluded["SearchString"]) == (
        {"UriPath": {}},
        "STARTS_WITH",
        "/v1/callbacks/",
    )


def test_the_common_rule_set_only_counts_large_bodies_which_the_api_refuses_itself():
    statement = WEB_ACL_RULES["CommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    assert statement["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]


def test_refused_requests_are_logged_to_a_waf_log_group():
    logging = EDGE_RESOURCES["EdgeWafLogging"]["Properties"]
    assert logging["ResourceArn"] == {"Fn::GetAtt": ["EdgeWebAcl", "Arn"]}
    assert EDGE_RESOURCES["EdgeWafLogs"]["Properties"]["LogGroupName"]["Fn::Sub"].startswith("aws-waf-logs-")
    assert logging["LoggingFilter"]["DefaultBehavior"] == "DROP"


def edge_alarm_description(alarm):
    description = alarm["Properties"]["AlarmDescription"]
    return description["Fn::Sub"] if isinstance(description, dict) else description


@pytest.mark.parametrize("name", sorted(n for n, r in EDGE_RESOURCES.items() if r["Type"] == "AWS::CloudWatch::Alarm"))
def test_every_edge_alarm_notifies_the_edge_topic_and_names_its_runbook_entry(name):
    alarm = EDGE_RESOURCES[name]
    assert alarm["Properties"]["AlarmActions"] == {
        "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
    }
    found = re.search(r'Runbook: docs/operations\.md, "([^"]+)"', edge_alarm_description(alarm))
    assert found, f"{name} names no runbook entry"
    assert f"\n### {found.group(1)}\n" in OPERATIONS


def test_the_edge_5xx_alarm_watches_the_distribution_once_it_is_named():
    alarm = EDGE_RESOURCES["Edge5xxAlarm"]
    assert alarm["Condition"] == "HasDistribution"
    metrics = {metric["Id"]: metric for metric in alarm["Properties"]["Metrics"]}
    for metric in ("requests", "rate"):
        dimensions = metrics[metric]["MetricStat"]["Metric"]["Dimensions"]
        assert dimensions == [
            {"Name": "DistributionId", "Value": {"Ref": "DistributionId"}},
            {"Name": "Region", "Value": "Global"},
        ]
    assert metrics["errors"]["Expression"] == "requests * rate / 100"


# -- the page's security headers ---------------------------------------------------------------------------------


def page_headers():
    return RESOURCES["PageResponseHeadersPolicy"]["Properties"]["ResponseHeadersPolicyConfig"]


def directives(policy):
    return {part.split()[0]: part.split()[1:] for part in policy.replace("\n", " ").split(";") if part.strip()}


def page_csp(parameters=DEFAULTS):
    return evaluate(
        page_headers()["SecurityHeadersConfig"]["ContentSecurityPolicy"]["ContentSecurityPolicy"], parameters
    )


def test_the_page_s_csp_allows_only_its_own_scripts_and_styles_and_no_inline_code():
    csp = directives(page_csp())
    assert "'unsafe-inline'" not in page_csp()
    assert "'unsafe-eval'" not in page_csp()
    assert csp["default-src"] == ["'none'"]
    assert csp["script-src"] == ["'self'"]
    assert csp["style-src"] == ["'self'"]
    assert csp["connect-src"] == ["'self'"], "the API is on the page's origin"
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]


def test_the_page_s_forms_post_only_to_itself_and_the_configured_gateways():
    assert directives(page_csp())["form-action"] == [
        "'self'",
        "https://testpayment.cmi.co.ma",
        "https://checkout.amanpay.ma",
    ]
    production = {**DEFAULTS, "CmiGatewayUrl": "https://payment.cmi.co.ma/fim/est3Dgate"}
    assert "https://payment.cmi.co.ma" in directives(page_csp(production))["form-action"]


@pytest.mark.parametrize("policy", ["PageResponseHeadersPolicy", "ApiResponseHeadersPolicy"])
def test_every_answer_carries_hsts_nosniff_no_framing_and_a_referrer_policy(policy):
    headers = RESOURCES[policy]["Properties"]["ResponseHeadersPolicyConfig"]["SecurityHeadersConfig"]
    assert headers["StrictTransportSecurity"]["AccessControlMaxAgeSec"] >= 31536000
    assert headers["StrictTransportSecurity"]["Override"] is True
    assert headers["ContentTypeOptions"] == {"Override": True}
    assert headers["FrameOptions"] == {"FrameOption": "DENY", "Override": True}
    assert headers["ReferrerPolicy"]["ReferrerPolicy"] == "strict-origin-when-cross-origin"
    assert "frame-ancestors 'none'" in evaluate(headers["ContentSecurityPolicy"]["ContentSecurityPolicy"], DEFAULTS)


def test_each_behaviour_sends_its_security_headers():
    assert DISTRIBUTION["DefaultCacheBehavior"]["ResponseHeadersPolicyId"] == {"Ref": "PageResponseHeadersPolicy"}
    assert api_behaviour()["ResponseHeadersPolicyId"] == {"Ref": "ApiResponseHeadersPolicy"}


# What 'unsafe-inline' would be needed for: inline scripts, inline styles, event-handler attributes, javascript: URLs.
INLINE = {
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "an inline style element": re.compile(r"<style\b", re.IGNORECASE),
    "a style attribute": re.compile(r"""\sstyle\s*=\s*["']""", re.IGNORECASE),
    "an event handler attribute": re.compile(r"""\son[a-z]+\s*=\s*["']""", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}
# In scripts: what a CSP without 'unsafe-inline' and 'unsafe-eval' blocks (element.style.x = ... is allowed).
BLOCKED_IN_SCRIPTS = {
    "a style attribute": re.compile(r"""setAttribute\(\s*["']style["']|\.style\.cssText|style\s*=\s*\\?["']"""),
    "an event handler attribute": re.compile(r"""setAttribute\(\s*["']on[a-z]+["']"""),
    "HTML from a string": re.compile(r"\.(?:innerHTML|outerHTML)\s*=|insertAdjacentHTML\("),
    "eval": re.compile(r"\beval\(|new Function\(|set(?:Timeout|Interval)\(\s*[\"'`]"),
}


def page_files(suffix):
    return sorted(path for path in WEB.rglob(f"*{suffix}") if path.is_file())


@pytest.mark.parametrize("path", page_files(".html"), ids=lambda path: path.relative_to(WEB).as_posix())
def test_the_page_has_no_inline_script_style_or_handler(path):
    html = path.read_text(encoding="utf-8")
    for what, pattern in INLINE.items():
        assert not pattern.search(html), f"{path.relative_to(WEB)} has {what}: move it to a file"


@pytest.mark.parametrize("path", page_files(".js"), ids=lambda path: path.relative_to(WEB).as_posix())
def test_the_page_s_scripts_build_nothing_the_csp_would_block(path):
    script = path.read_text(encoding="utf-8")
    for what, pattern in BLOCKED_IN_SCRIPTS.items():
        assert not pattern.search(script), f"{path.relative_to(WEB)} builds {what}"


def test_the_page_s_own_resources_are_all_allowed_by_its_csp():
    html = (WEB / "index.html").read_text(encoding="utf-8")
    external = [
        url
        for url in re.findall(r"""(?:src|href)="([^"]+)\"""", html)
        if re.match(r"[a-z]+:", url)
        and not url.startswith(("data:", "https://www.portnet.ma/", "http://reclamation.portnet.ma/", "tel:"))
    ]
    # Links that navigate (PORTNET's site, its complaint platform as its manual spells it, the telephone) are not
    # loads; anything else must be the page's own.
    assert external == []

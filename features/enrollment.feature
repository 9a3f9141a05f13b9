@KB-01 @KB-07
Feature: Enrollment in X.509 v3 security
  Each organization's key management enrolls its own users with a one-time
  token and issues X.509 v3 certificates; a v1 certificate (before Exchange 5.5
  SP1) cannot be used across organizations.

  Background:
    Given Contoso and Fabrikam each run their own key management

  Scenario: Both users are enrolled by their own organization
    When UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    Then UserA holds an X.509 v3 certificate issued by Contoso for usera@contoso.example
    And UserB holds an X.509 v3 certificate issued by Fabrikam for userb@fabrikam.example

  Scenario: A one-time enrollment token cannot be used twice
    When Contoso issues an enrollment token for UserD
    And UserD enrolls at Contoso with that token
    Then enrolling UserD at Contoso again with the same token is refused

  Scenario Outline: Enrollment with different key arrangements
    When UserA is enrolled at Contoso with <arrangement>
    Then UserA holds an X.509 v3 certificate issued by Contoso for usera@contoso.example
    And UserA's encryption certificate allows <usage>

    Examples:
      | arrangement                                  | usage            |
      | a dual-use certificate                       | key encipherment |
      | separate signing and encryption certificates | key encipherment |
      | an EC P-256 key                              | key agreement    |

  Scenario: A legacy X.509 v1 certificate is not usable across organizations
    Given UserA is enrolled at Contoso
    And UserB is enrolled at Fabrikam
    And UserA has UserB in Contacts with a legacy X.509 v1 certificate
    When UserA sends an encrypted message to UserB
    Then UserA is told "None of the recipients can process an encrypted message. You can either proceed with an unencrypted message or cancel the operation"
    And UserB is listed as unusable because "X.509 v1 certificate"
